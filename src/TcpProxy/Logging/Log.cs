using TcpProxy.Configuration;

namespace TcpProxy.Logging;

/// <summary>
/// Line-oriented diagnostics, "tcpproxy: " first, through a <see cref="LogWriter"/>
/// (stderr in the product): best effort, never blocking, never throwing.
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

    /// <summary>A failure the operator must see: written at every level, --quiet included.</summary>
    public void Error(string message) => Write(message);

    /// <summary>What the operator asked for (the SIGUSR1 report): written at every level, --quiet included.</summary>
    public void Report(string message) => Write(message);

    public void Info(string message)
    {
        if (IsNormal)
            Write(message);
    }

    public void Verbose(string message)
    {
        if (IsVerbose)
            Write(message);
    }

    private void Write(string message) => Writer?.WriteLine(Prefix, message);
}
