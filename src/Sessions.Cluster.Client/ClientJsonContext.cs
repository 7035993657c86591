using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sessions.Cluster.Client;

/// <summary>Source-generated JSON metadata for every answer the client reads, so it parses without reflection (and runs
/// compiled ahead of time).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SessionList))]
[JsonSerializable(typeof(AppendResult))]
[JsonSerializable(typeof(SearchResults))]
[JsonSerializable(typeof(SessionInfo))]
[JsonSerializable(typeof(List<SessionInfo>))]
[JsonSerializable(typeof(List<ProjectSummary>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(System.Text.Json.Nodes.JsonArray))]
[JsonSerializable(typeof(System.Text.Json.Nodes.JsonObject))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;
