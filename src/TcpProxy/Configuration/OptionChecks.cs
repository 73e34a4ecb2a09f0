using System;
using System.Globalization;

namespace TcpProxy.Configuration;

/// <summary>
/// The checks between options, written once: the CLI runs them on what it
/// parsed, <c>ProxyServer.Create</c> on what an embedding program built. A
/// problem is one line, "--option: problem". The order is the order of the
/// checks, so the first of several problems is always the same one.
/// </summary>
public static class OptionChecks
{
    /// <summary>
    /// The first problem, or null. <paramref name="typed"/> gives an option's
    /// text as typed on the command line ("" for a flag that is set), or null
    /// when it was not given; a message then quotes the user's own words ("4K").
    /// Without it nothing counts as typed: the checks only about the command
    /// line itself (two flags, an option given in vain) pass.
    /// </summary>
    public static string? FirstProblem(ProxyOptions options, Func<string, string?>? typed = null)
    {
        typed ??= _ => null;
        if (typed("--verbose") is not null && typed("--quiet") is not null)
            return "--verbose and --quiet exclude each other";
        if (typed("--log-format") is string format && options.AccessLogPath is null)
            return "--log-format: '" + format + "' needs --access-log (it formats the access log only)";
        if (options.SendProxy != ProxyProtocolVersion.None && options.BufferSize < options.SendProxy.MaxHeaderLength())
            return "--buffer-size: '" + Number(options.BufferSize) + "' is too small for --send-proxy " + options.SendProxy.Name()
                + " (at least " + Number(options.SendProxy.MaxHeaderLength()) + " bytes, the longest header)";
        if (options.BufferMemory != 0 && options.BufferMemory < options.BufferSize)
            return "--buffer-memory: '" + (typed("--buffer-memory") ?? Number(options.BufferMemory)) + "' is less than one buffer (--buffer-size "
                + Number(options.BufferSize) + ")";
        // The CLI refuses these counts while parsing; a program building the options itself is caught here.
        if (options.Reactors < 1 || options.Reactors > ProxyOptions.MaxReactors)
            return "--reactors must be 1 to " + Number(ProxyOptions.MaxReactors);
        return null;
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
