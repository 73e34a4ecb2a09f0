namespace TcpProxy.Cli;

/// <summary>The process's exit statuses.</summary>
internal static class ExitCodes
{
    /// <summary>Stopped by SIGINT/SIGTERM, or --help/--version.</summary>
    public const int Success = 0;

    /// <summary>The command line was fine but the proxy could not run (unresolvable host, port in use).</summary>
    public const int RuntimeError = 1;

    /// <summary>The command line itself is wrong.</summary>
    public const int UsageError = 2;
}
