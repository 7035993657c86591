using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// How a fork differs from its parent, over both full histories (<see cref="TranscriptHistory"/>): the entries the
/// SDK's forkSession copied carry <c>forkedFrom {sessionId, messageUuid}</c>; what follows them is the fork's own, and
/// what the parent has after the copied point is what the fork has not.
/// </summary>
/// <param name="ParentSessionId">The parent session.</param>
/// <param name="Cut">The parent's last message the fork copied, or null when none is named.</param>
/// <param name="Copied">Messages copied from the parent.</param>
/// <param name="Own">Messages of the fork's own, after the copied ones.</param>
/// <param name="FirstOwn">The first of them, or null.</param>
/// <param name="ParentAfter">Messages the parent has after <paramref name="Cut"/>, or null when the parent could not be read or no longer has it.</param>
/// <param name="ParentNext">The first of them, or null.</param>
public sealed record ForkDiff(string ParentSessionId, string? Cut, int Copied, int Own, string? FirstOwn, int? ParentAfter = null, string? ParentNext = null)
{
    /// <summary>The difference of a fork's history from its parent's as far as the fork alone tells it.</summary>
    /// <param name="parentSessionId">The parent (the catalog row's <c>ParentSessionId</c>).</param>
    /// <param name="history">The fork's full history.</param>
    public static ForkDiff Of(string parentSessionId, IReadOnlyList<JsonObject> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        string? cut = null, firstOwn = null;
        int copied = 0, own = 0;
        foreach (var entry in history)
        {
            if (TranscriptModelBuilder.CopiedFrom(entry) is { } from && own == 0)
            {
                (cut, copied) = (from, copied + 1);
            }
            else
            {
                firstOwn ??= Str(entry["uuid"]);
                own++;
            }
        }

        return new ForkDiff(parentSessionId, cut, copied, own, firstOwn);
    }

    /// <summary>This difference with what the parent has after the cut (<paramref name="parent"/>: <see cref="Following"/> of the cut in the parent's full history, or null when it could not be read or has no such message).</summary>
    public ForkDiff WithParent(TranscriptFollowing? parent) =>
        parent is null || Cut is null ? this : this with { ParentAfter = parent.After, ParentNext = parent.Next };

    /// <summary>What follows the message <paramref name="uuid"/> in a full history, or null when it has no such message.</summary>
    public static TranscriptFollowing? Following(IReadOnlyList<JsonObject> history, string uuid)
    {
        ArgumentNullException.ThrowIfNull(history);
        for (var i = 0; i < history.Count; i++)
        {
            if (Str(history[i]["uuid"]) == uuid)
            {
                return new TranscriptFollowing(history.Count - i - 1, i + 1 < history.Count ? Str(history[i + 1]["uuid"]) : null);
            }
        }

        return null;
    }

    private static string? Str(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
