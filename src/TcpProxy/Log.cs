using System;
using System.IO;

namespace TcpProxy;

public enum LogLevel
{
    /// <summary>Only errors that stop the proxy.</summary>
    Quiet,
    /// <summary>Start-up, warnings (unreachable destination, descriptor exhaustion).</summary>
    Normal,
    /// <summary>Also one line per connection opened and closed.</summary>
    Verbose,
}

/// <summary>
/// Line-oriented diagnostics on stderr. Callers test <see cref="IsVerbose"/>
/// before formatting per-connection lines, so a quiet proxy builds no strings.
/// </summary>
public sealed class Log
{
    private readonly TextWriter _writer;

    public Log(LogLevel level, TextWriter writer)
    {
        Level = level;
        _writer = writer;
    }

    public LogLevel Level { get; }

    public bool IsVerbose => Level >= LogLevel.Verbose;

    public bool IsNormal => Level >= LogLevel.Normal;

    public void Error(string message) => Write(message);

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

    private void Write(string message)
    {
        _writer.WriteLine("tcpproxy: " + message);
        _writer.Flush();
    }
}
