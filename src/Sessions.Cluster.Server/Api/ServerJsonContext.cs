using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// Source-generated JSON metadata for the large answers (listings), so they serialize without reflection; the
/// runtime options (web casing, nulls left out) still apply. Other types fall through to the reflection resolver.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SessionsApi.SessionList))]
[JsonSerializable(typeof(SessionInfoDto))]
internal sealed partial class ServerJsonContext : JsonSerializerContext;
