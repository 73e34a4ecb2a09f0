using System;
using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.IO;
using System.Linq;
using TcpProxy.Configuration;

namespace TcpProxy.Cli;

/// <summary>The outcome of parsing: options to run with, or an exit code (help, version, or a usage error already printed).</summary>
internal readonly record struct ParsedCommandLine(ProxyOptions? Options, int ExitCode);

/// <summary>
/// Parses `tcpproxy destination-host destination-port listen-port [options]`
/// with System.CommandLine, from the rows of <see cref="OptionTable"/>. Every
/// value goes through a parser of ours, so any malformed or out-of-range
/// value, and any clash between options (<see cref="OptionChecks"/>), becomes
/// one line "tcpproxy: --option: problem (usage: ...)" and exit code 2. No
/// proxy logic lives here.
/// </summary>
internal static class CommandLine
{
    private const string Description = "An asynchronous TCP proxy: forwards every client connection to the destination, both ways.";
    private const string Usage = "usage: tcpproxy destination-host destination-port listen-port [options]; see --help";

    public static ParsedCommandLine Parse(string[] args, TextWriter output, TextWriter error)
    {
        OptionRow[] rows = OptionTable.Create();
        var root = new RootCommand(Description);
        foreach (OptionRow row in rows)
            row.AddTo(root);
        HelpWithEpilogue.AddTo(root);

        ParseResult result = root.Parse(HelpOrVersionAlone(args));
        string? problem = UsageProblems.First(result, rows.Select(row => row.Symbol).OfType<Argument>().ToArray());
        if (problem is null && result.Action is ParseErrorAction)
            problem = "invalid command line";
        if (problem is null && result.Action is not null)
        {
            // --help or --version: let System.CommandLine print them.
            // No default exception handler: a failing write (stdout on a full disk) becomes
            // Program's one-line internal error, not a stack trace.
            int code = result.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
            return new ParsedCommandLine(null, code);
        }
        ProxyOptions options = OptionTable.Defaults;
        if (problem is null)
        {
            foreach (OptionRow row in rows)
                options = row.Apply(options, result);
            problem = OptionChecks.FirstProblem(options, name => Array.Find(rows, row => row.Name == name)!.Typed(result));
        }
        if (problem is not null)
        {
            error.WriteLine("tcpproxy: " + problem + " (" + Usage + ")");
            return new ParsedCommandLine(null, ExitCodes.UsageError);
        }
        return new ParsedCommandLine(options, ExitCodes.Success);
    }

    /// <summary>
    /// Just the first --help (-h, -?) or --version wherever it stands, so it wins over
    /// the rest: "tcpproxy host 80 3000 --version" prints the version, not "--version: missing value".
    /// Past "--" every word is an argument.
    /// </summary>
    private static string[] HelpOrVersionAlone(string[] args)
    {
        foreach (string arg in args)
        {
            if (arg == "--")
                break;
            if (arg is "--help" or "-h" or "-?" or "--version")
                return [arg];
        }
        return args;
    }
}
