using System;
using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.IO;

namespace TcpProxy.Cli;

/// <summary>The outcome of parsing: options to run with, or an exit code (help, version, or a usage error already printed).</summary>
internal readonly record struct ParsedCommandLine(ProxyOptions? Options, int ExitCode);

/// <summary>
/// Parses `tcpproxy destination-host destination-port listen-port [options]`
/// with System.CommandLine. Usage errors become one line on stderr and exit
/// code 2; no proxy logic lives here.
/// </summary>
internal static class CommandLine
{
    private const string Usage = "usage: tcpproxy destination-host destination-port listen-port [options]; see --help";
    private const int MaxBufferSize = 64 * 1024 * 1024;
    private const double MaxStallSeconds = 7 * 24 * 3600;

    public static ParsedCommandLine Parse(string[] args, TextWriter output, TextWriter error)
    {
        var destinationHost = new Argument<string>("destination-host") { Description = "Host name or address to forward every connection to." };
        var destinationPort = new Argument<int>("destination-port") { Description = "TCP port on the destination (1-65535).", CustomParser = ParsePort };
        var listenPort = new Argument<int>("listen-port") { Description = "TCP port to accept clients on (1-65535).", CustomParser = ParsePort };
        var bufferSize = new Option<int>("--buffer-size")
        {
            Description = "Bytes buffered per direction (the high-water mark); reading stops while the buffer is full.",
            DefaultValueFactory = _ => ProxyOptions.DefaultBufferSize,
            HelpName = "bytes",
        };
        bufferSize.Validators.Add(result =>
        {
            int value = result.GetValueOrDefault<int>();
            if (value < 1 || value > MaxBufferSize)
                result.AddError("--buffer-size must be between 1 and " + MaxBufferSize.ToString(CultureInfo.InvariantCulture) + " bytes, not " + value.ToString(CultureInfo.InvariantCulture));
        });
        var stallTimeout = new Option<double>("--stall-timeout")
        {
            Description = "Seconds buffered data may stay unwritable before the connection pair is aborted.",
            DefaultValueFactory = _ => ProxyOptions.DefaultStallTimeout.TotalSeconds,
            HelpName = "seconds",
        };
        stallTimeout.Validators.Add(result =>
        {
            double value = result.GetValueOrDefault<double>();
            if (!(value >= 0.01 && value <= MaxStallSeconds))
                result.AddError("--stall-timeout must be between 0.01 and " + MaxStallSeconds.ToString(CultureInfo.InvariantCulture) + " seconds, not " + value.ToString(CultureInfo.InvariantCulture));
        });
        var bind = new Option<string?>("--bind") { Description = "Address to listen on (default: all interfaces, IPv4 and IPv6).", HelpName = "address" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log one line per connection opened and closed." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Log only errors that stop the proxy." };

        var root = new RootCommand("An asynchronous TCP proxy: forwards every client connection to the destination, both ways.")
        {
            destinationHost, destinationPort, listenPort, bufferSize, stallTimeout, bind, verbose, quiet,
        };

        ParseResult result = root.Parse(args);
        if (result.Action is ParseErrorAction || result.Errors.Count > 0)
        {
            error.WriteLine("tcpproxy: " + FirstProblem(result, destinationHost, destinationPort, listenPort) + " (" + Usage + ")");
            return new ParsedCommandLine(null, ExitCodes.UsageError);
        }
        if (result.Action is not null)
        {
            // --help or --version: let System.CommandLine print them.
            // No default exception handler: a failing write (stdout on a full disk) becomes
            // Program's one-line internal error, not a stack trace.
            int code = result.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
            return new ParsedCommandLine(null, code);
        }
        if (result.GetValue(verbose) && result.GetValue(quiet))
        {
            error.WriteLine("tcpproxy: --verbose and --quiet exclude each other (" + Usage + ")");
            return new ParsedCommandLine(null, ExitCodes.UsageError);
        }
        string host = result.GetValue(destinationHost) ?? "";
        if (host.Trim().Length == 0)
        {
            error.WriteLine("tcpproxy: destination-host is empty (" + Usage + ")");
            return new ParsedCommandLine(null, ExitCodes.UsageError);
        }
        var options = new ProxyOptions
        {
            DestinationHost = host,
            DestinationPort = result.GetValue(destinationPort),
            ListenPort = result.GetValue(listenPort),
            BindAddress = result.GetValue(bind),
            BufferSize = result.GetValue(bufferSize),
            StallTimeout = TimeSpan.FromSeconds(result.GetValue(stallTimeout)),
            LogLevel = result.GetValue(verbose) ? LogLevel.Verbose : result.GetValue(quiet) ? LogLevel.Quiet : LogLevel.Normal,
        };
        return new ParsedCommandLine(options, ExitCodes.Success);
    }

    private static int ParsePort(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port >= 1 && port <= 65535)
            return port;
        result.AddError(result.Argument.Name + " '" + text + "' is not a port number (1-65535)");
        return 0;
    }

    // System.CommandLine reports a missing argument without naming it; name it.
    private static string FirstProblem(ParseResult result, params Argument[] arguments)
    {
        foreach (Argument argument in arguments)
        {
            ArgumentResult? argumentResult = result.GetResult(argument);
            if (argumentResult is null || argumentResult.Tokens.Count == 0)
                return "missing " + argument.Name;
        }
        return result.Errors.Count > 0 ? result.Errors[0].Message : "invalid command line";
    }
}
