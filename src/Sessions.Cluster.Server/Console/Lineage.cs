using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Server.Console;

/// <summary>A session and its forks (<c>forkedFrom</c>), as a tree.</summary>
/// <param name="Session">The session's catalog row.</param>
/// <param name="Forks">Sessions forked from it, newest first.</param>
public sealed record LineageNode(SessionRecord Session, IReadOnlyList<LineageNode> Forks);

/// <summary>Builds a session's fork tree from its project's catalog rows.</summary>
public static class Lineage
{
    /// <summary>
    /// Most rows of a project read to find forks (its newest first): a fork older than these is not shown, and a parent
    /// outside them ends the tree at the oldest ancestor found (the session still links to its parent).
    /// </summary>
    public const int MaxScanned = 5000;

    private const int MaxDepth = 32;

    /// <summary>The tree from the oldest ancestor found down, or null when the session has no parent and no fork.</summary>
    public static async Task<LineageNode?> BuildAsync(SessionQueries sessions, string tenant, SessionRecord current, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(current);
        var rows = new Dictionary<string, SessionRecord>(StringComparer.Ordinal) { [current.SessionId] = current };
        string? cursor = null;
        var read = 0;
        do
        {
            var page = await sessions.ListAsync(tenant, current.ProjectKey, new SessionQuery(1000, cursor, IncludeUnlisted: true), cancellationToken).ConfigureAwait(false);
            foreach (var row in page.Items)
            {
                rows.TryAdd(row.SessionId, row);
            }

            read += page.Items.Count;
            cursor = page.NextCursor;
        }
        while (cursor is not null && read < MaxScanned);

        var forks = rows.Values.Where(r => r.ParentSessionId is not null).ToLookup(r => r.ParentSessionId!, StringComparer.Ordinal);
        if (current.ParentSessionId is null && !forks.Contains(current.SessionId))
        {
            return null;
        }

        var root = current;
        var seen = new HashSet<string>(StringComparer.Ordinal) { root.SessionId };
        while (root.ParentSessionId is { } parent && rows.TryGetValue(parent, out var up) && seen.Add(parent))
        {
            root = up;
        }

        return Node(root, forks, new HashSet<string>(StringComparer.Ordinal), 0);
    }

    private static LineageNode Node(SessionRecord session, ILookup<string, SessionRecord> forks, HashSet<string> visited, int depth)
    {
        visited.Add(session.SessionId);
        var children = depth >= MaxDepth
            ? []
            : forks[session.SessionId].Where(f => !visited.Contains(f.SessionId)).OrderByDescending(f => f.Mtime)
                .Select(f => Node(f, forks, visited, depth + 1)).ToList();
        return new LineageNode(session, children);
    }
}
