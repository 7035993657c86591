using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sessions.Cluster.Client;

/// <summary>Source-generated JSON metadata for the answers read most (listings, appends), so they parse without reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SessionList))]
[JsonSerializable(typeof(AppendResult))]
[JsonSerializable(typeof(SearchResults))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;
