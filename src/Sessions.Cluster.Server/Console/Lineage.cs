using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Server.Console;

/// <summary>A session and its forks (<c>forkedFrom</c>), as a tree.</summary>
/// <param name="Session">The session's catalog row.</param>
/// <param name="Forks">Sessions forked from it, newest first.</param>
public sealed record LineageNode(SessionRecord Session, IReadOnlyList<LineageNode> Forks);

/// <summary>
/// Builds a session's fork tree from the catalog's parent links: up through each row's parent, then down one level of
/// forks per query (<see cref="ISessionCatalog.ListForksAsync"/>, an index of the parent links), so its cost follows the
/// tree, not the project's size.
/// </summary>
public static class Lineage
{
    /// <summary>Most sessions shown in one tree; a tree larger than this shows its newest forks of each level first.</summary>
    public const int MaxNodes = 500;

    /// <summary>Most levels followed up (ancestors) and down (forks of forks).</summary>
    public const int MaxDepth = 32;

    /// <summary>The tree from the oldest ancestor still in the catalog down, or null when the session has no parent and no fork.</summary>
    public static async Task<LineageNode?> BuildAsync(SessionQueries sessions, string tenant, SessionRecord current, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(current);
        var project = current.ProjectKey;
        var root = current;
        var seen = new HashSet<string>(StringComparer.Ordinal) { root.SessionId };
        for (var depth = 0; depth < MaxDepth && root.ParentSessionId is { } parent && seen.Add(parent); depth++)
        {
            if (await sessions.GetRowAsync(tenant, project, parent, cancellationToken).ConfigureAwait(false) is not { } up)
            {
                break;
            }

            root = up;
        }

        var forks = new Dictionary<string, List<SessionRecord>>(StringComparer.Ordinal);
        var inTree = new HashSet<string>(StringComparer.Ordinal) { root.SessionId };
        IReadOnlyCollection<string> level = [root.SessionId];
        for (var depth = 0; depth < MaxDepth && level.Count > 0 && inTree.Count < MaxNodes; depth++)
        {
            var next = new List<string>();
            foreach (var fork in await sessions.ListForksAsync(tenant, project, level, MaxNodes - inTree.Count, cancellationToken).ConfigureAwait(false))
            {
                if (inTree.Add(fork.SessionId))
                {
                    (forks.TryGetValue(fork.ParentSessionId!, out var list) ? list : forks[fork.ParentSessionId!] = []).Add(fork);
                    next.Add(fork.SessionId);
                }
            }

            level = next;
        }

        return root.ParentSessionId is null && root.SessionId == current.SessionId && forks.Count == 0 ? null : Node(root, forks);
    }

    private static LineageNode Node(SessionRecord session, Dictionary<string, List<SessionRecord>> forks) =>
        new(session, forks.TryGetValue(session.SessionId, out var children) ? children.Select(f => Node(f, forks)).ToList() : []);
}
