using System;

namespace TcpProxy.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        try
        {
            ParsedCommandLine parsed = CommandLine.Parse(args, Console.Out, Console.Error);
            if (parsed.Options is not ProxyOptions options)
                return parsed.ExitCode;
            var log = new Log(options.LogLevel, Console.Error);
            using ProxyServer? server = ProxyServer.Create(options, log, out string? error);
            if (server is null)
            {
                log.Error(error ?? "cannot start");
                return ExitCodes.RuntimeError;
            }
            return server.Run();
        }
        catch (Exception exception)
        {
            // A bug, not a user error: still one line, never a stack trace.
            Console.Error.WriteLine("tcpproxy: internal error: " + exception.GetType().Name + ": " + exception.Message);
            return ExitCodes.RuntimeError;
        }
    }
}
