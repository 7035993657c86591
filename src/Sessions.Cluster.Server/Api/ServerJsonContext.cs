using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// Source-generated JSON metadata for the large answers (listings), so they serialize without reflection; the
/// runtime options (web casing, nulls left out) still apply. Other types fall through to the reflection resolver.
/// <see cref="RenderRow"/> renders one listing row the same way, for the catalog to store beside the row.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Client.SessionList))]
[JsonSerializable(typeof(Client.SessionInfo))]
[JsonSerializable(typeof(Client.SearchResults))]
[JsonSerializable(typeof(Client.AppendResult))]
internal sealed partial class ServerJsonContext : JsonSerializerContext
{
    /// <summary>A catalog row as the listing's JSON object (UTF-8), exactly as the listing endpoint writes it.</summary>
    public static byte[] RenderRow(Core.Storage.SessionRecord row) => JsonSerializer.SerializeToUtf8Bytes(WireContracts.Info(row), Default.SessionInfo);
}
