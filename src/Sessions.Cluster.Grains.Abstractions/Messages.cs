using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Grains;

/// <summary>One entry of an append: its JSON text as UTF-8 (one line, validated by the node) and its uuid, if any.</summary>
[GenerateSerializer, Immutable]
public readonly record struct EntryMessage([property: Id(0)] ReadOnlyMemory<byte> Json, [property: Id(1)] string? Uuid)
{
    /// <summary>The entry as Core's <see cref="TranscriptLine"/>.</summary>
    public TranscriptLine ToLine() => new(Json, Uuid);

    /// <summary>Wraps a parsed line.</summary>
    public static EntryMessage From(TranscriptLine line) => new(line.Json, line.Uuid);
}

/// <summary>An append call: target log, entries in order, the fence and the call's idempotency key.</summary>
/// <param name="Subpath">A subpath (<c>subagents/agent-x</c>), or null for the main transcript.</param>
/// <param name="Entries">The batch, in order.</param>
/// <param name="ExpectedLength">The committed length (bytes) the caller knows; null = append at the end.</param>
/// <param name="IdempotencyKey">The call's <c>Idempotency-Key</c>; a repeat writes nothing and answers as the first call.</param>
/// <param name="LastActivity">An imported file's last activity (epoch ms), kept when earlier than now.</param>
/// <param name="Summary">The summary sidecar to store with the entries, or null.</param>
[GenerateSerializer, Immutable]
public sealed record AppendCommand(
    [property: Id(0)] string? Subpath,
    [property: Id(1)] EntryMessage[] Entries,
    [property: Id(2)] long? ExpectedLength,
    [property: Id(3)] string? IdempotencyKey,
    [property: Id(4)] long? LastActivity,
    [property: Id(5)] Core.Sessions.SummaryWrite? Summary = null);

/// <summary>The wire shape of Core's <see cref="Core.Sessions.SummaryWrite"/> (Core stays free of Orleans).</summary>
[GenerateSerializer]
public readonly record struct SummaryWriteSurrogate([property: Id(0)] string DataJson, [property: Id(1)] long ExpectedVersion);

/// <summary>Converts <see cref="Core.Sessions.SummaryWrite"/> to and from its wire shape.</summary>
[RegisterConverter]
public sealed class SummaryWriteConverter : IConverter<Core.Sessions.SummaryWrite, SummaryWriteSurrogate>
{
    /// <inheritdoc />
    public Core.Sessions.SummaryWrite ConvertFromSurrogate(in SummaryWriteSurrogate s) => new(s.DataJson, s.ExpectedVersion);

    /// <inheritdoc />
    public SummaryWriteSurrogate ConvertToSurrogate(in Core.Sessions.SummaryWrite w) => new(w.DataJson, w.ExpectedVersion);
}

/// <summary>The wire shape of Core's <see cref="AppendResult"/>: the answer of an append, its sidecar outcome flattened.</summary>
[GenerateSerializer]
public struct AppendResultSurrogate
{
#pragma warning disable CS1591 // The fields mirror AppendResult's and SummaryWriteOutcome's documented properties one to one.
    [Id(0)] public int Appended;
    [Id(1)] public int Duplicates;
    [Id(2)] public long Length;
    [Id(3)] public long Mtime;
    [Id(4)] public bool Created;
    [Id(5)] public long Bytes;
    [Id(6)] public long PreviousMtime;
    [Id(7)] public bool HasSummary;
    [Id(8)] public bool SummaryStored;
    [Id(9)] public long SummaryVersion;
    [Id(10)] public SummaryRecord? SummaryCurrent;
#pragma warning restore CS1591
}

/// <summary>Converts <see cref="AppendResult"/> to and from its wire shape.</summary>
[RegisterConverter]
public sealed class AppendResultConverter : IConverter<AppendResult, AppendResultSurrogate>
{
    /// <inheritdoc />
    public AppendResult ConvertFromSurrogate(in AppendResultSurrogate s) => new(s.Appended, s.Duplicates, s.Length, s.Mtime, s.Created, s.Bytes,
        s.HasSummary ? new Core.Sessions.SummaryWriteOutcome(s.SummaryStored, s.SummaryVersion, s.SummaryCurrent) : null, s.PreviousMtime);

    /// <inheritdoc />
    public AppendResultSurrogate ConvertToSurrogate(in AppendResult r) => new()
    {
        Appended = r.Appended, Duplicates = r.Duplicates, Length = r.Length, Mtime = r.Mtime, Created = r.Created, Bytes = r.Bytes,
        PreviousMtime = r.PreviousMtime, HasSummary = r.Summary is not null, SummaryStored = r.Summary?.Stored ?? false,
        SummaryVersion = r.Summary?.Version ?? 0, SummaryCurrent = r.Summary?.Current,
    };
}

/// <summary>The wire shape of Core's <see cref="SummaryRecord"/>.</summary>
[GenerateSerializer]
public readonly record struct SummaryRecordSurrogate([property: Id(0)] string SessionId, [property: Id(1)] long Mtime, [property: Id(2)] string DataJson, [property: Id(3)] long Version);

/// <summary>Converts <see cref="SummaryRecord"/> to and from its wire shape.</summary>
[RegisterConverter]
public sealed class SummaryRecordConverter : IConverter<SummaryRecord, SummaryRecordSurrogate>
{
    /// <inheritdoc />
    public SummaryRecord ConvertFromSurrogate(in SummaryRecordSurrogate s) => new(s.SessionId, s.Mtime, s.DataJson, s.Version);

    /// <inheritdoc />
    public SummaryRecordSurrogate ConvertToSurrogate(in SummaryRecord r) => new(r.SessionId, r.Mtime, r.DataJson, r.Version);
}

/// <summary>
/// A consistent view of one log: its committed length when the grain answered (null: never written). Readers stream
/// storage up to <see cref="Length"/>. <see cref="Inline"/> holds the bytes when the grain has them: an ephemeral
/// session, whose log exists in the grain's memory alone, or a hot log the grain keeps in memory
/// (<c>Sessions:HotTranscriptBytes</c>), for a caller on the grain's own silo only, where they are not copied.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record TranscriptView([property: Id(0)] long? Length, [property: Id(1)] ReadOnlyMemory<byte>? Inline)
{
    /// <summary>As Core's <see cref="Core.Sessions.LogView"/>.</summary>
    public Core.Sessions.LogView ToLogView() => new(Length, Inline);
}

/// <summary>
/// A JSON array a grain answers (messages, context entries), as UTF-8 the way the SDK's <c>JSON.stringify</c> writes
/// it: the answer crosses silos, the transcript it was built from does not.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JsonAnswer([property: Id(0)] byte[] Utf8);

/// <summary>The wire shape of Core's <see cref="Core.Sessions.TranscriptPageQuery"/> (see <see cref="ISessionGrain.GetTranscriptPage"/>).</summary>
/// <param name="ModelView">The SDK's chain instead of the full history.</param>
/// <param name="Offset">The page's first message, or null.</param>
/// <param name="At">A message whose page is asked, or null.</param>
/// <param name="Search">Text to find, or null.</param>
/// <param name="ParentSessionId">The session this one was forked from, or null.</param>
/// <param name="Following">Not a page: what follows this message in the full history.</param>
[GenerateSerializer, Immutable]
public sealed record TranscriptPageRequest([property: Id(0)] bool ModelView, [property: Id(1)] int? Offset, [property: Id(2)] string? At,
    [property: Id(3)] string? Search, [property: Id(4)] string? ParentSessionId, [property: Id(5)] string? Following = null)
{
    /// <summary>As Core's query.</summary>
    public Core.Sessions.TranscriptPageQuery ToQuery() => new(ModelView, Offset, At, Search, ParentSessionId, Following);
}

/// <summary>The wire shape of Core's <see cref="SessionRecord"/> (Core stays free of Orleans).</summary>
[GenerateSerializer]
public struct SessionRecordSurrogate
{
#pragma warning disable CS1591 // The fields mirror SessionRecord's documented properties one to one.
    [Id(0)] public string Tenant;
    [Id(1)] public string ProjectKey;
    [Id(2)] public string SessionId;
    [Id(3)] public long Mtime;
    [Id(4)] public long Size;
    [Id(5)] public bool Listed;
    [Id(6)] public string? Summary;
    [Id(7)] public string? CustomTitle;
    [Id(8)] public string? FirstPrompt;
    [Id(9)] public string? Tag;
    [Id(10)] public string? Cwd;
    [Id(11)] public string? GitBranch;
    [Id(12)] public long? CreatedAt;
    [Id(13)] public string? ParentSessionId;
    [Id(14)] public bool IsSidechain;
    [Id(15)] public string? Usage;
#pragma warning restore CS1591
}

/// <summary>Converts <see cref="SessionRecord"/> to and from its wire shape.</summary>
[RegisterConverter]
public sealed class SessionRecordConverter : IConverter<SessionRecord, SessionRecordSurrogate>
{
    /// <inheritdoc />
    public SessionRecord ConvertFromSurrogate(in SessionRecordSurrogate s) => new()
    {
        Tenant = s.Tenant, ProjectKey = s.ProjectKey, SessionId = s.SessionId, Mtime = s.Mtime, Size = s.Size, Listed = s.Listed,
        Summary = s.Summary, CustomTitle = s.CustomTitle, FirstPrompt = s.FirstPrompt, Tag = s.Tag, Cwd = s.Cwd, GitBranch = s.GitBranch,
        CreatedAt = s.CreatedAt, ParentSessionId = s.ParentSessionId, IsSidechain = s.IsSidechain, Usage = s.Usage,
    };

    /// <inheritdoc />
    public SessionRecordSurrogate ConvertToSurrogate(in SessionRecord r) => new()
    {
        Tenant = r.Tenant, ProjectKey = r.ProjectKey, SessionId = r.SessionId, Mtime = r.Mtime, Size = r.Size, Listed = r.Listed,
        Summary = r.Summary, CustomTitle = r.CustomTitle, FirstPrompt = r.FirstPrompt, Tag = r.Tag, Cwd = r.Cwd, GitBranch = r.GitBranch,
        CreatedAt = r.CreatedAt, ParentSessionId = r.ParentSessionId, IsSidechain = r.IsSidechain, Usage = r.Usage,
    };
}

/// <summary>The wire shape of Core's <see cref="Core.Retention.SweepReport"/>.</summary>
/// <param name="Expired">Sessions moved to the trash.</param>
/// <param name="Purged">Sessions purged.</param>
/// <param name="Skipped">Listed sessions left alone.</param>
[GenerateSerializer]
public readonly record struct SweepReportSurrogate([property: Id(0)] int Expired, [property: Id(1)] int Purged, [property: Id(2)] int Skipped);

/// <summary>Converts <see cref="Core.Retention.SweepReport"/> to and from its wire shape.</summary>
[RegisterConverter]
public sealed class SweepReportConverter : IConverter<Core.Retention.SweepReport, SweepReportSurrogate>
{
    /// <inheritdoc />
    public Core.Retention.SweepReport ConvertFromSurrogate(in SweepReportSurrogate s) => new(s.Expired, s.Purged, s.Skipped);

    /// <inheritdoc />
    public SweepReportSurrogate ConvertToSurrogate(in Core.Retention.SweepReport r) => new(r.Expired, r.Purged, r.Skipped);
}

/// <summary>
/// What a parent grain hands its fork's grain (Core's <see cref="Core.Sessions.ForkSnapshot"/> without the id, which is
/// the receiving grain's key): the seed, whether to write inside the call, and an ephemeral parent's bytes.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ForkSeedCommand(
    [property: Id(0)] string ParentSessionId,
    [property: Id(1)] long ParentLength,
    [property: Id(2)] string? UpToMessageId,
    [property: Id(3)] string? Title,
    [property: Id(4)] string? ParentTitle,
    [property: Id(5)] long ForkTime,
    [property: Id(6)] bool WriteNow,
    [property: Id(7)] byte[]? EphemeralParent)
{
    /// <summary>Core's seed.</summary>
    public Core.Sessions.ForkSeed ToSeed() => new(ParentSessionId, ParentLength, UpToMessageId, Title, ParentTitle, ForkTime);

    /// <summary>From the parent's snapshot.</summary>
    public static ForkSeedCommand From(Core.Sessions.ForkSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var s = snapshot.Seed;
        return new(s.ParentSessionId, s.ParentLength, s.UpToMessageId, s.Title, s.ParentTitle, s.ForkTime, snapshot.WriteNow, snapshot.EphemeralParent);
    }
}
