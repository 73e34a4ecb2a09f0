namespace TcpProxy.Logging;

/// <summary>What a writer puts before each line it queues (<see cref="LineHead"/>).</summary>
public enum LineStamp
{
    /// <summary>Nothing: a file of records that carry their own time (the access log).</summary>
    None,

    /// <summary>stderr anywhere but the journal: "2026-12-02T14:20:01.123Z " (RFC 3339, UTC, milliseconds).</summary>
    UtcTime,

    /// <summary>stderr connected to journald: "&lt;3&gt;" .. "&lt;7&gt;", and no time (the journal keeps its own).</summary>
    JournalPriority,
}
