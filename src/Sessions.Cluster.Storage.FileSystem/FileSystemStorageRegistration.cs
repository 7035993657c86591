using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Telemetry;

namespace Sessions.Cluster.Storage.FileSystem;

/// <summary>Registers the file-system transcript store, as Orleans' storage providers register themselves.</summary>
public static partial class FileSystemStorageRegistration
{
    /// <summary>
    /// Registers <see cref="ITranscriptStore"/> as JSONL files under <see cref="FileSystemTranscriptStoreOptions.Root"/>
    /// (instrumented as <c>filesystem</c>), with its options checked when the host starts; its clock is the container's
    /// <see cref="StoreClock"/>, else the system's. With <see cref="FileSystemTranscriptStoreOptions.FlushToDisk"/> the
    /// store's journal is replayed when the store is first resolved and checkpointed when the container is disposed.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="configure">Binds or sets the options (<c>o =&gt; o.BindConfiguration("…")</c> or <c>o.Configure(…)</c>).</param>
    /// <exception cref="OptionsValidationException">At start: <see cref="FileSystemTranscriptStoreOptions.Root"/> is empty.</exception>
    public static IServiceCollection AddFileSystemTranscriptStore(this IServiceCollection services, Action<OptionsBuilder<FileSystemTranscriptStoreOptions>>? configure = null)
    {
        var options = services.AddOptions<FileSystemTranscriptStoreOptions>();
        configure?.Invoke(options);
        options.Validate(o => !string.IsNullOrWhiteSpace(o.Root), "The file-system transcript store needs a folder (FileSystemTranscriptStoreOptions.Root is empty).").ValidateOnStart();
        // The store itself is the container's, so stopping the host checkpoints and closes its journal.
        services.AddSingleton(sp =>
        {
            var store = new FileSystemTranscriptStore(sp.GetRequiredService<IOptions<FileSystemTranscriptStoreOptions>>().Value, sp.GetService<StoreClock>()?.Time ?? TimeProvider.System);
            if (store.JournalReplay is { } replay && (replay.Records > 0 || replay.TornTail))
            {
                JournalLog.Replayed(sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(FileSystemTranscriptStore)), replay.Records, replay.TornTail);
            }

            return store;
        });
        services.AddSingleton<ITranscriptStore>(sp => new InstrumentedTranscriptStore(sp.GetRequiredService<FileSystemTranscriptStore>(), "filesystem"));
        return services;
    }

    private static partial class JournalLog
    {
        [LoggerMessage(EventId = 3300, Level = LogLevel.Warning, Message = "The transcript journal replayed {Records} records after an unclean stop (torn tail detected and dropped: {TornTail})")]
        public static partial void Replayed(ILogger logger, int records, bool tornTail);
    }
}
