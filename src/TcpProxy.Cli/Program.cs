using System;
using TcpProxy.Configuration;
using TcpProxy.Hosting;
using TcpProxy.Interop;
using TcpProxy.Logging;

namespace TcpProxy.Cli;

internal static class Program
{
    // At exit, a stuck stderr may delay the end this long, no longer.
    private static readonly TimeSpan ExitFlushLimit = TimeSpan.FromSeconds(1);

    private static int Main(string[] args)
    {
        // Before any other thread is started: the proxy's signals then reach
        // the loop through a signalfd, never through a handler thread.
        SignalFd.BlockInEveryThread();
        // Every line to stderr goes through this writer: a full disk, /dev/full
        // or a pipe nobody reads costs log lines, never the process.
        using LogWriter stderr = LogWriter.ForStandardError();
        int exitCode = Run(args, stderr);
        stderr.FlushAtExit(ExitFlushLimit);
        return exitCode;
    }

    private static int Run(string[] args, LogWriter stderr)
    {
        try
        {
            using var errorOutput = new LogTextWriter(stderr);
            ParsedCommandLine parsed = CommandLine.Parse(args, Console.Out, errorOutput);
            if (parsed.Options is not ProxyOptions options)
                return parsed.ExitCode;
            var log = new Log(options.LogLevel, stderr);
            using ProxyServer? server = ProxyServer.Create(options, log, out string? error, ProgramCommand.Current(args));
            if (server is null)
            {
                log.Error(error ?? "cannot start");
                return ExitCodes.RuntimeError;
            }
            return server.Run();
        }
        catch (Exception exception)
        {
            ReportInternalError(stderr, exception);
            return ExitCodes.RuntimeError;
        }
    }

    /// <summary>A bug, not a user error: still one line, never a stack trace, and nothing thrown from here.</summary>
    internal static void ReportInternalError(LogWriter stderr, Exception exception)
    {
        try
        {
            stderr.WriteLine(LogPriority.Error, "tcpproxy: internal error: ", exception.GetType().Name + ": " + exception.Message);
        }
        catch (Exception)
        {
            // Building the line failed too (out of memory, a throwing Message): there is nothing left to say it with.
        }
    }
}
