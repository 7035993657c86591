using System.Text.Json.Nodes;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// A reader of a session's main transcript that works from a model of it — the web console's pages: the host
/// registers one, and the session's grain builds the model once per version of the transcript (its length), keeps it
/// while the silo's budget allows, and answers each page from it. The model lives with the session; only pages leave it.
/// </summary>
public interface ITranscriptReader
{
    /// <summary>The longest transcript a model is built of, in bytes; a longer one's model is built without its bytes (<see cref="Build"/> gets null).</summary>
    long MaxTranscriptBytes { get; }

    /// <summary>Builds the model of a transcript.</summary>
    /// <param name="transcript">Its bytes (whole lines, JSONL), or null when it is longer than <see cref="MaxTranscriptBytes"/>.</param>
    /// <param name="length">Its length in bytes (the version the model is of).</param>
    TranscriptReadModel Build(ReadOnlyMemory<byte>? transcript, long length);

    /// <summary>An answer from the model, as UTF-8 JSON.</summary>
    /// <param name="model">A model <see cref="Build"/> made.</param>
    /// <param name="query">What is asked.</param>
    /// <param name="modelView">The SDK's <c>getSessionMessages</c> (system messages included) for a page of
    /// <see cref="TranscriptPageQuery.ModelView"/> or of a model without <see cref="TranscriptReadModel.HasTranscript"/>, else null.</param>
    byte[] Answer(TranscriptReadModel model, TranscriptPageQuery query, IReadOnlyList<JsonObject>? modelView);
}

/// <summary>What an <see cref="ITranscriptReader"/> built of one version of a transcript.</summary>
public abstract class TranscriptReadModel
{
    /// <summary>The transcript's length in bytes the model is of.</summary>
    public abstract long Length { get; }

    /// <summary>Whether the model was built from the transcript's bytes (false beyond <see cref="ITranscriptReader.MaxTranscriptBytes"/>: then every page is of the SDK's chain).</summary>
    public abstract bool HasTranscript { get; }

    /// <summary>What the model holds in memory, estimated in bytes (reserved from the silo's budget while the grain keeps it).</summary>
    public abstract long EstimatedBytes { get; }
}

/// <summary>A page asked of a transcript's model (see <see cref="ITranscriptReader.Answer"/>).</summary>
/// <param name="ModelView">The SDK's chain (what the model sees) instead of the full history.</param>
/// <param name="Offset">The first message of the page (0-based), or null for the page of <paramref name="At"/> or the first hit.</param>
/// <param name="At">A message whose page is asked (<c>?at=</c>), or null.</param>
/// <param name="Search">Text to find in the transcript, or null.</param>
/// <param name="ParentSessionId">The session this one was forked from, or null: the answer then says how it differs from it.</param>
/// <param name="Following">When set, not a page: how many messages follow this one in the full history, and the next one's uuid (a fork's page asks its parent).</param>
public sealed record TranscriptPageQuery(bool ModelView, int? Offset, string? At, string? Search, string? ParentSessionId, string? Following = null);
