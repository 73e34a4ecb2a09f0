namespace TcpProxy.Logging;

/// <summary>
/// How serious a log line is: its sd-daemon(3) priority, which journald reads
/// from a "&lt;N&gt;" at the start of the line (<see cref="LineStamp.JournalPriority"/>).
/// </summary>
public enum LogPriority
{
    /// <summary>LOG_ERR: the proxy, or something the operator asked for, failed.</summary>
    Error = 3,

    /// <summary>LOG_WARNING: the proxy goes on, but a client, a lookup or some log lines were lost.</summary>
    Warning = 4,

    /// <summary>LOG_INFO: start-up, drain, SIGHUP and SIGUSR1 lines, access records.</summary>
    Info = 6,

    /// <summary>LOG_DEBUG: the per-connection lines of --verbose.</summary>
    Debug = 7,
}
