using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Server.Console.Components;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// The web console's reader of a session's transcript, run by the session's grain (<see cref="ITranscriptReader"/>): the
/// model is the full history (<see cref="TranscriptHistory"/>) and its facts, built once per version of the transcript;
/// an answer is one page of either view with the search hits and, for a fork, what the fork alone tells of its
/// difference from its parent (<see cref="TranscriptPage"/>), or what follows a message (<see cref="TranscriptFollowing"/>),
/// as JSON (<see cref="Json"/>).
/// </summary>
public sealed class ConsoleTranscriptReader : ITranscriptReader
{
    /// <summary>How the answers are written and read: web defaults, fields included (the tool views' and facts' tuples).</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { IncludeFields = true };

    /// <inheritdoc />
    public long MaxTranscriptBytes => ConsolePage.MaxRawScanBytes;

    /// <inheritdoc />
    public TranscriptReadModel Build(ReadOnlyMemory<byte>? transcript, long length)
    {
        var history = transcript is { Length: > 0 } bytes ? TranscriptHistory.Read(bytes.Span) : null;
        return new Model(length, transcript ?? ReadOnlyMemory<byte>.Empty, history, history is null ? null : SessionFacts.Of(history));
    }

    /// <inheritdoc />
    public byte[] Answer(TranscriptReadModel model, TranscriptPageQuery query, IReadOnlyList<JsonObject>? modelView)
    {
        ArgumentNullException.ThrowIfNull(query);
        var m = (Model)model;
        if (query.Following is { } uuid)
        {
            return JsonSerializer.SerializeToUtf8Bytes(m.History is null ? null : ForkDiff.Following(m.History, uuid), Json);
        }

        var shown = !query.ModelView && m.History is not null ? m.History : modelView ?? [];
        var hits = TranscriptSearch.Find(shown, query.Search);
        var page = TranscriptModelBuilder.Build(shown, m.Bytes.Span, query.Offset ?? 0, TranscriptView.PageSize,
            query.At ?? (query.Offset is null ? hits?.Hits.FirstOrDefault()?.Uuid : null));
        var fork = query.ParentSessionId is { } parent && m.History is not null ? ForkDiff.Of(parent, m.History) : null;
        return JsonSerializer.SerializeToUtf8Bytes(new TranscriptPage(m.History is not null, m.Facts, page, hits, fork), Json);
    }

    /// <summary>A page answer as the console reads it.</summary>
    public static TranscriptPage ReadPage(ReadOnlySpan<byte> answer) =>
        JsonSerializer.Deserialize<TranscriptPage>(answer, Json) ?? throw new JsonException("A transcript page answer was null.");

    /// <summary>A following answer as the console reads it (null: no full history, or no such message).</summary>
    public static TranscriptFollowing? ReadFollowing(ReadOnlySpan<byte> answer) => JsonSerializer.Deserialize<TranscriptFollowing?>(answer, Json);

    // The full history (null beyond MaxTranscriptBytes), its facts and the bytes it came from (each message's raw line).
    private sealed class Model(long length, ReadOnlyMemory<byte> bytes, List<JsonObject>? history, SessionFacts? facts) : TranscriptReadModel
    {
        public override long Length => length;

        public override bool HasTranscript => history is not null;

        // The bytes (when not the grain's hot copy) and the parsed entries, which take about twice the bytes they came from.
        public override long EstimatedBytes => bytes.Length * 3L + 4096;

        public ReadOnlyMemory<byte> Bytes => bytes;

        public List<JsonObject>? History => history;

        public SessionFacts? Facts => facts;
    }
}

/// <summary>One page of a transcript as the session's grain answers it (<see cref="ConsoleTranscriptReader"/>).</summary>
/// <param name="HasHistory">Whether the full history was read (not beyond <see cref="ConsolePage.MaxRawScanBytes"/>).</param>
/// <param name="Facts">The session's facts over its full history, or null without it.</param>
/// <param name="Model">The page.</param>
/// <param name="Hits">The search's hits in the view, or null when nothing was searched.</param>
/// <param name="Fork">For a fork, its difference from its parent as far as the fork tells it (<see cref="ForkDiff.WithParent"/> adds the parent's side), else null.</param>
public sealed record TranscriptPage(bool HasHistory, SessionFacts? Facts, TranscriptModel Model, TranscriptHits? Hits, ForkDiff? Fork);

/// <summary>What follows a message in a full history.</summary>
/// <param name="After">How many messages follow it.</param>
/// <param name="Next">The first of them, or null.</param>
public sealed record TranscriptFollowing(int After, string? Next);
