using TcpProxy.Configuration;

namespace TcpProxy.Logging;

/// <summary>
/// Line-oriented diagnostics, "tcpproxy: " first, through a <see cref="LogWriter"/>
/// (stderr in the product): best effort, never blocking, never throwing.
/// Each kind of line has its journald priority (<see cref="LogPriority"/>).
/// Callers test <see cref="IsVerbose"/> before formatting per-connection
/// lines, so a quiet proxy builds no strings.
/// </summary>
public sealed class Log
{
    private const string Prefix = "tcpproxy: ";

    /// <param name="writer">Where lines go; null discards them (tests that run the proxy in-process).</param>
    public Log(LogLevel level, LogWriter? writer)
    {
        Level = level;
        Writer = writer;
    }

    public LogLevel Level { get; }

    public LogWriter? Writer { get; }

    public bool IsVerbose => Level >= LogLevel.Verbose;

    public bool IsNormal => Level >= LogLevel.Normal;

    /// <summary>A failure the operator must see: written at every level, --quiet included; priority error.</summary>
    public void Error(string message) => Write(LogPriority.Error, message);

    /// <summary>What the operator asked for (the SIGUSR1 report): written at every level, --quiet included; priority info.</summary>
    public void Report(string message) => Write(LogPriority.Info, message);

    /// <summary>
    /// An internal error the proxy survived (a callback threw: one client
    /// reset, one scrape lost): priority error, but at the normal level, as
    /// before priorities existed: --quiet still keeps to what stops the proxy.
    /// </summary>
    public void Fault(string message)
    {
        if (IsNormal)
            Write(LogPriority.Error, message);
    }

    /// <summary>Something lost while the proxy goes on (a client, a lookup, a limit reached); priority warning.</summary>
    public void Warning(string message)
    {
        if (IsNormal)
            Write(LogPriority.Warning, message);
    }

    public void Info(string message)
    {
        if (IsNormal)
            Write(LogPriority.Info, message);
    }

    /// <summary>--verbose: one line per connection event; priority debug.</summary>
    public void Verbose(string message)
    {
        if (IsVerbose)
            Write(LogPriority.Debug, message);
    }

    private void Write(LogPriority priority, string message) => Writer?.WriteLine(priority, Prefix, message);
}
