using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace TcpProxy.Cli;

/// <summary>
/// --help as System.CommandLine writes it, then what the option list cannot
/// say: the signals the proxy answers and its exit statuses. The man page
/// (dist/man/tcpproxy.1) says the same at length.
/// </summary>
internal sealed class HelpWithEpilogue : SynchronousCommandLineAction
{
    internal const string Epilogue = """
        Signals:
          SIGTERM, SIGINT  Stop accepting; open connections get --drain-timeout to finish, then exit 0.
          SIGHUP           Reopen the --access-log file (after logrotate moved it).
          SIGUSR1          Log the counters (the figures of --metrics) and the destination's addresses in use.
          SIGUSR2          Upgrade: start the binary anew on the same listening sockets; this process drains.

        Exit status:
          0  Stopped by a signal, or --help/--version.
          1  The proxy could not run (the destination does not resolve, the port is in use, ...).
          2  The command line is wrong (one line on stderr says why).
        """;

    private readonly HelpAction _help;

    private HelpWithEpilogue(HelpAction help) => _help = help;

    /// <summary>Wraps the help option's own action; a command without one is left as it is.</summary>
    public static void AddTo(Command command)
    {
        foreach (Option option in command.Options)
        {
            if (option is HelpOption { Action: HelpAction help } helpOption)
                helpOption.Action = new HelpWithEpilogue(help);
        }
    }

    /// <summary>As the help it wraps: --help stands alone (see CommandLine), so nothing else can be wrong.</summary>
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        int code = _help.Invoke(parseResult);
        parseResult.InvocationConfiguration.Output.WriteLine(Epilogue);
        return code;
    }
}
