namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// Metadata of one session, the shape of the SDK's <c>SDKSessionInfo</c>. Times are integer Unix epoch milliseconds.
/// </summary>
/// <param name="SessionId">Session id.</param>
/// <param name="Summary">Custom title, else last <c>lastPrompt</c>/<c>summary</c>, else first prompt (or "Image"/"Document").</param>
/// <param name="LastModified">The store's mtime.</param>
/// <param name="FileSize">Transcript size in bytes.</param>
/// <param name="CustomTitle">Last <c>custom-title</c> (else <c>ai-title</c>), if any.</param>
/// <param name="FirstPrompt">First meaningful user prompt, if any.</param>
/// <param name="GitBranch">Last git branch seen.</param>
/// <param name="Cwd">Working directory.</param>
/// <param name="Tag">Last tag; null when none or cleared.</param>
/// <param name="CreatedAt">Timestamp of the first entry.</param>
public sealed record SessionInfo(
    string SessionId,
    string Summary,
    long LastModified,
    long FileSize,
    string? CustomTitle,
    string? FirstPrompt,
    string? GitBranch,
    string? Cwd,
    string? Tag,
    long? CreatedAt);

/// <summary>
/// Computes <see cref="SessionInfo"/> exactly as the SDK's <c>getSessionInfo</c>/<c>listSessions</c> do: from the
/// first and last <see cref="WindowBytes"/> bytes of the transcript (its <c>Na</c>).
/// </summary>
public static class SessionInfoReader
{
    /// <summary>Size of the head and tail windows, in bytes (the SDK's 64 KiB).</summary>
    public const int WindowBytes = 65536;

    /// <summary>
    /// The session's info from its head and tail windows (UTF-8 decoded), or null when the SDK would not list it
    /// (first line is a sidechain, or nothing to show as a summary).
    /// </summary>
    /// <param name="sessionId">Session id.</param>
    /// <param name="head">First <see cref="WindowBytes"/> bytes of the transcript, decoded.</param>
    /// <param name="tail">Last <see cref="WindowBytes"/> bytes (the whole text when shorter), decoded.</param>
    /// <param name="mtime">Store mtime, epoch ms.</param>
    /// <param name="size">Transcript size in bytes.</param>
    /// <param name="fallbackCwd">Project path to use when no entry carries a cwd (local files only); null for stores.</param>
    public static SessionInfo? Read(string sessionId, string head, string tail, long mtime, long size, string? fallbackCwd = null) =>
        Read(sessionId, Analyze(head), tail, mtime, size, fallbackCwd);

    /// <summary>
    /// What the head window alone decides (it never changes once the transcript passes <see cref="WindowBytes"/>, so
    /// callers may compute it once).
    /// </summary>
    public static HeadFacts Analyze(string head) => new(
        IsSidechainHead(head),
        NullIfEmpty(JsText.LastEntryField(head, "customTitle", "custom-title", lenient: true)),
        NullIfEmpty(JsText.LastEntryField(head, "aiTitle", "ai-title", lenient: true)),
        NullIfEmpty(FirstPrompt.FromHead(head)),
        JsText.ParseTimestamp(JsText.FirstStringField(head, "timestamp")),
        NullIfEmpty(FirstPrompt.MediaFallback(head)),
        NullIfEmpty(JsText.FirstStringField(head, "gitBranch")),
        NullIfEmpty(JsText.FirstStringField(head, "cwd")),
        ForkParent(head));

    /// <summary>The session's info from the facts of its head window and its tail window (see the other overload).</summary>
    public static SessionInfo? Read(string sessionId, HeadFacts head, string tail, long mtime, long size, string? fallbackCwd = null)
    {
        ArgumentNullException.ThrowIfNull(head);
        if (head.IsSidechain)
        {
            return null;
        }

        var customTitle = NullIfEmpty(JsText.LastEntryField(tail, "customTitle", "custom-title", lenient: true))
            ?? head.CustomTitle
            ?? NullIfEmpty(JsText.LastEntryField(tail, "aiTitle", "ai-title", lenient: true))
            ?? head.AiTitle;
        var summary = customTitle
            ?? NullIfEmpty(JsText.LastEntryField(tail, "lastPrompt", null, lenient: false))
            ?? NullIfEmpty(JsText.LastEntryField(tail, "summary", null, lenient: false))
            ?? head.FirstPrompt
            ?? head.MediaFallback;
        if (summary is null)
        {
            return null;
        }

        var gitBranch = NullIfEmpty(JsText.LastStringField(tail, "gitBranch")) ?? head.GitBranch;
        var cwd = NullIfEmpty(JsText.LastEntryField(tail, "relocatedCwd", "relocated", lenient: false))
            ?? head.Cwd
            ?? NullIfEmpty(fallbackCwd);
        var tag = NullIfEmpty(JsText.LastEntryField(tail, "tag", "tag", lenient: true));
        return new SessionInfo(sessionId, summary, mtime, size, customTitle, head.FirstPrompt, gitBranch, cwd, tag, head.CreatedAt);
    }

    /// <summary>True when the first line of the transcript is a sidechain entry (the SDK does not list such files).</summary>
    public static bool IsSidechainHead(string head)
    {
        var nl = head.IndexOf('\n', StringComparison.Ordinal);
        var first = nl >= 0 ? head[..nl] : head;
        return first.Contains("\"isSidechain\":true", StringComparison.Ordinal) || first.Contains("\"isSidechain\": true", StringComparison.Ordinal);
    }

    /// <summary>The <c>forkedFrom.sessionId</c> of the first entries in the head window, if the session is a fork.</summary>
    public static string? ForkParent(string head)
    {
        var at = head.IndexOf("\"forkedFrom\":{", StringComparison.Ordinal);
        return at < 0 ? null : JsText.FirstStringField(head[at..], "sessionId");
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}

/// <summary>What a transcript's head window decides for its info (see <see cref="SessionInfoReader.Analyze"/>).</summary>
/// <param name="IsSidechain">The first line is a sidechain entry.</param>
/// <param name="CustomTitle">Last custom title in the head.</param>
/// <param name="AiTitle">Last AI title in the head.</param>
/// <param name="FirstPrompt">First meaningful prompt.</param>
/// <param name="CreatedAt">First timestamp, epoch ms.</param>
/// <param name="MediaFallback">"Image"/"Document" when the first prompt is only that.</param>
/// <param name="GitBranch">First git branch.</param>
/// <param name="Cwd">First cwd.</param>
/// <param name="ForkParent">The session this one was forked from.</param>
public sealed record HeadFacts(bool IsSidechain, string? CustomTitle, string? AiTitle, string? FirstPrompt, long? CreatedAt, string? MediaFallback, string? GitBranch, string? Cwd, string? ForkParent);
