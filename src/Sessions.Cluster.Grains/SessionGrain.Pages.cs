using System.Text.Json.Nodes;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Sessions;

namespace Sessions.Cluster.Grains;

/// <summary>
/// The host's transcript reader works from a model the grain builds of the main transcript (<see cref="ITranscriptReader"/>:
/// the web console's parsed full history and its facts), once per version of the transcript: a page view after another
/// asks for a page, not for the transcript. The model is kept while the transcript is unchanged (an append makes a new
/// version; any other write drops it) and within the silo's budget (<see cref="HotTranscriptBudget"/>), with the SDK's
/// chain of the same version once a page of it was asked; activation collection frees them.
/// </summary>
public sealed partial class SessionGrain
{
    private KeptReadModel? _readModel;

    /// <inheritdoc />
    public async Task<JsonAnswer> GetTranscriptPage(TranscriptPageRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reader = readers.FirstOrDefault() ?? throw new InvalidOperationException("No transcript reader is registered on this silo (the web console registers one).");
        var view = await GetView(null, silo.SiloAddress);
        if (view.Length is not { } length)
        {
            throw new NotFoundException("session_not_found", $"Session '{_sessionId}' was not found in project '{_projectKey}'.");
        }

        var model = await ReadModelAsync(reader, view, length);
        var query = request.ToQuery();
        IReadOnlyList<JsonObject>? chain = null;
        if (query.Following is null && (query.ModelView || !model.HasTranscript))
        {
            chain = await ChainAsync(model, view);
        }

        return new JsonAnswer(reader.Answer(model, query, chain));
    }

    // The SDK's chain (system messages included) of the model's version: kept with the model once built, when the
    // budget allows (it holds at most the transcript's entries, parsed: reserved as twice its bytes).
    private async Task<IReadOnlyList<JsonObject>> ChainAsync(TranscriptReadModel model, TranscriptView view)
    {
        if (_readModel is { Chain: { } kept } held && ReferenceEquals(held.Model, model))
        {
            return kept;
        }

        var generation = _writes;
        var chain = await sessions.GetMessagesAsync(_tenant, Key(null), includeSystemMessages: true, 0, null, CancellationToken.None, Fixed(view));
        if (generation == _writes && _readModel is { Chain: null } owner && ReferenceEquals(owner.Model, model) && budget.TryReserve(model.Length * 2))
        {
            owner.Chain = chain;
        }

        return chain;
    }

    // The model of the main transcript as of the view's length: the kept one when it is of that length and no write but
    // an append came since, else built (from the view's hot bytes, or one read of storage) and kept when the budget allows.
    private async Task<TranscriptReadModel> ReadModelAsync(ITranscriptReader reader, TranscriptView view, long length)
    {
        var generation = _writes;
        if (_readModel is { } kept && kept.Generation == generation && kept.Model.Length == length)
        {
            return kept.Model;
        }

        ReadOnlyMemory<byte>? bytes = null;
        if (length <= reader.MaxTranscriptBytes)
        {
            bytes = view.Inline is { } inline ? inline[..(int)length] : await ReadOrNullAsync(null, 0, length);
        }

        var model = reader.Build(bytes, length);
        if (generation == _writes && !_state.Ephemeral)
        {
            DropReadModel();
            if (budget.TryReserve(model.EstimatedBytes))
            {
                _readModel = new KeptReadModel(generation, model);
            }
        }

        return model;
    }

    private void DropReadModel()
    {
        if (_readModel is { } kept)
        {
            budget.Release(kept.Model.EstimatedBytes + (kept.Chain is null ? 0 : kept.Model.Length * 2));
            _readModel = null;
        }
    }

    /// <summary>A reader's model as of the grain's last write other than an append (<see cref="_writes"/>), and the SDK's chain of its version once asked.</summary>
    private sealed record KeptReadModel(int Generation, TranscriptReadModel Model)
    {
        public List<JsonObject>? Chain { get; set; }
    }
}
