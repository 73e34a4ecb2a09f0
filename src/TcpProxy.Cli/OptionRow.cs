using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using TcpProxy.Configuration;

namespace TcpProxy.Cli;

/// <summary>Turns one value's text into its value, or into the problem to report; the caller prefixes the name.</summary>
internal delegate bool TryParse<T>(string text, out T value, out string? problem);

/// <summary>
/// One row of <see cref="OptionTable"/>: a System.CommandLine symbol (so
/// --help comes from it), what applies when it is not given, and where its
/// value goes in <see cref="ProxyOptions"/>.
/// </summary>
internal abstract class OptionRow
{
    /// <summary>"--buffer-size", or a positional's name ("listen-port").</summary>
    public string Name => Symbol.Name;

    public abstract Symbol Symbol { get; }

    /// <summary>What applies when the option is not given, in --help's words ("8192", "auto"); null where --help gives none.</summary>
    public string? Default { get; protected init; }

    public abstract void AddTo(Command command);

    /// <summary>The options with this row's value put in, when it was given.</summary>
    public abstract ProxyOptions Apply(ProxyOptions options, ParseResult result);

    /// <summary>The value as typed ("4K"; "" for a flag that is set), or null when it was not given.</summary>
    public abstract string? Typed(ParseResult result);

    /// <summary>Runs our parser on the one token, so every problem reads "name: problem".</summary>
    protected static T Convert<T>(ArgumentResult result, string name, TryParse<T> parse)
    {
        if (result.Tokens.Count == 0)
        {
            result.AddError(name + ": missing value");
            return default!;
        }
        if (result.Tokens.Count > 1)
        {
            result.AddError(name + ": given more than once");
            return default!;
        }
        if (parse(result.Tokens[0].Value, out T value, out string? problem))
            return value;
        result.AddError(name + ": " + problem);
        return default!;
    }
}

/// <summary>An option with one value. Its default, if any, ends its --help line as "[default: X]", whatever its type.</summary>
internal sealed class ValueRow<T> : OptionRow
{
    private readonly Option<T> _option;
    private readonly Func<ProxyOptions, T, ProxyOptions> _set;

    /// <param name="shownDefault">The value without the option, shown by --help; null (an enum, say): none shown.</param>
    /// <param name="defaultInWords">Shown instead of <paramref name="shownDefault"/>: "auto", "all interfaces".</param>
    public ValueRow(string name, string helpName, string description, TryParse<T> parse, Func<ProxyOptions, T, ProxyOptions> set,
        T shownDefault = default!, string? defaultInWords = null)
    {
        _set = set;
        Default = defaultInWords ?? (shownDefault is null ? null : string.Format(CultureInfo.InvariantCulture, "{0}", shownDefault));
        // No DefaultValueFactory: System.CommandLine would show an enum's C# name, and its "[default: X]"
        // only for some rows. Apply reads the value only when the option was given.
        _option = new Option<T>(name)
        {
            Description = Default is null ? description : description + " [default: " + Default + "]",
            HelpName = helpName,
            CustomParser = result => Convert(result, name, parse),
        };
    }

    public override Symbol Symbol => _option;

    public override void AddTo(Command command) => command.Add(_option);

    public override ProxyOptions Apply(ProxyOptions options, ParseResult result) =>
        result.GetResult(_option) is { Implicit: false } ? _set(options, result.GetValue(_option)!) : options;

    public override string? Typed(ParseResult result) =>
        result.GetResult(_option) is { Implicit: false } given ? given.Tokens[0].Value : null;
}

/// <summary>An option without a value (-v): on when given.</summary>
internal sealed class FlagRow : OptionRow
{
    private readonly Option<bool> _option;
    private readonly Func<ProxyOptions, ProxyOptions> _set;

    public FlagRow(string name, string alias, string description, Func<ProxyOptions, ProxyOptions> set)
    {
        _set = set;
        _option = new Option<bool>(name, alias) { Description = description };
    }

    public override Symbol Symbol => _option;

    public override void AddTo(Command command) => command.Add(_option);

    // "--verbose false" is allowed and means off.
    public override ProxyOptions Apply(ProxyOptions options, ParseResult result) => result.GetValue(_option) ? _set(options) : options;

    public override string? Typed(ParseResult result) => result.GetValue(_option) ? "" : null;
}

/// <summary>A positional argument; all three are required.</summary>
internal sealed class ArgumentRow<T> : OptionRow
{
    private readonly Argument<T> _argument;
    private readonly Func<ProxyOptions, T, ProxyOptions> _set;

    public ArgumentRow(string name, string description, TryParse<T> parse, Func<ProxyOptions, T, ProxyOptions> set)
    {
        _set = set;
        _argument = new Argument<T>(name) { Description = description, CustomParser = result => Convert(result, name, parse) };
    }

    public override Symbol Symbol => _argument;

    public override void AddTo(Command command) => command.Add(_argument);

    public override ProxyOptions Apply(ProxyOptions options, ParseResult result) => _set(options, result.GetValue(_argument)!);

    public override string? Typed(ParseResult result) => result.GetResult(_argument) is { Tokens.Count: > 0 } given ? given.Tokens[0].Value : null;
}
