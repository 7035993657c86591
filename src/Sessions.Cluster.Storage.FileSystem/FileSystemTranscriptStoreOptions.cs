namespace Sessions.Cluster.Storage.FileSystem;

/// <summary>Options of the file-system transcript store.</summary>
public sealed class FileSystemTranscriptStoreOptions
{
    /// <summary>Default data folder, relative to the working directory.</summary>
    public const string DefaultRoot = ".data/transcripts";

    /// <summary>Folder that holds <c>&lt;tenant&gt;/&lt;projectKey&gt;/&lt;sessionId&gt;.jsonl</c>.</summary>
    public string Root { get; set; } = DefaultRoot;

    /// <summary>When true (default) every append is flushed to disk (fsync) before it is acknowledged.</summary>
    public bool FlushToDisk { get; set; } = true;
}
