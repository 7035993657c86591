namespace Sessions.Cluster.Storage.FileSystem;

/// <summary>Options of the file-system transcript store.</summary>
public sealed class FileSystemTranscriptStoreOptions
{
    /// <summary>Default data folder, relative to the working directory.</summary>
    public const string DefaultRoot = ".data/transcripts";

    /// <summary>Folder that holds <c>&lt;tenant&gt;/&lt;projectKey&gt;/&lt;sessionId&gt;.jsonl</c>.</summary>
    public string Root { get; set; } = DefaultRoot;

    /// <summary>
    /// When true (default) every append is durable before it is acknowledged: in the silo's write-ahead journal
    /// (<c>fdatasync</c>, group commit), the transcript files synced at each checkpoint. False keeps no journal.
    /// </summary>
    public bool FlushToDisk { get; set; } = true;

    /// <summary>The journal's file; null (default): <c>journal</c> in the folder <c>&lt;Root&gt;.journal</c> beside the root.</summary>
    public string? JournalPath { get; set; }

    /// <summary>The journal's size in bytes, allocated once (default 64 MiB); when full, a checkpoint starts it over.</summary>
    public long JournalBytes { get; set; } = TranscriptJournal.DefaultCapacity;
}
