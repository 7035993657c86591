using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Search;

/// <summary>A session the content search found: its row, its relevance and its best matching messages.</summary>
/// <param name="Session">The session's catalog row.</param>
/// <param name="Rank">Relevance, higher first (comparable within one answer only).</param>
/// <param name="Messages">Its best matching messages, best first (at most <see cref="MessagesPerSession"/>).</param>
public sealed record SearchHit(SessionRecord Session, double Rank, IReadOnlyList<MessageHit> Messages)
{
    /// <summary>Most messages shown for one session.</summary>
    public const int MessagesPerSession = 3;

    /// <summary>What marks a matched word in a snippet: <c>**word**</c>.</summary>
    public const string Mark = "**";
}

/// <summary>A message that matched.</summary>
/// <param name="Uuid">The entry's uuid.</param>
/// <param name="Role"><c>user</c> or <c>assistant</c>.</param>
/// <param name="Timestamp">The entry's timestamp (Unix epoch ms), or null.</param>
/// <param name="Snippet">A few words around the match, each matched word between <see cref="SearchHit.Mark"/>s.</param>
public sealed record MessageHit(string Uuid, string Role, long? Timestamp, string Snippet);
