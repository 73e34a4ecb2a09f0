using System.CommandLine;
using System.CommandLine.Parsing;

namespace TcpProxy.Cli;

/// <summary>
/// Rewords what System.CommandLine found wrong into the proxy's own style,
/// "subject: problem" ("--buffer-size: missing value", "--nope: unknown option"),
/// so every usage error reads alike whichever layer caught it.
/// </summary>
internal static class UsageProblems
{
    /// <summary>The first problem of the command line, or null when it parsed cleanly.</summary>
    public static string? First(ParseResult result, Argument[] positionals)
    {
        if (result.Errors.Count == 0)
            return null;
        // Our own parsers already word their errors "name: problem".
        foreach (ParseError error in result.Errors)
        {
            if (IsOwn(error))
                return error.Message;
        }
        if (result.UnmatchedTokens.Count > 0)
        {
            string token = result.UnmatchedTokens[0];
            return token.StartsWith('-') && token.Length > 1 ? token + ": unknown option" : "'" + token + "': unexpected argument";
        }
        foreach (Argument argument in positionals)
        {
            ArgumentResult? argumentResult = result.GetResult(argument);
            if (argumentResult is null || argumentResult.Tokens.Count == 0)
                return "missing " + argument.Name;
        }
        foreach (ParseError error in result.Errors)
        {
            if (error.SymbolResult is OptionResult option)
                return option.Option.Name + (option.Tokens.Count == 0 ? ": missing value" : option.Tokens.Count > 1 ? ": given more than once" : ": takes one value");
        }
        return "invalid command line: " + result.Errors[0].Message.TrimEnd('.');
    }

    private static bool IsOwn(ParseError error)
    {
        string? name = error.SymbolResult switch
        {
            OptionResult option => option.Option.Name,
            ArgumentResult { Parent: OptionResult option } => option.Option.Name,
            ArgumentResult argument => argument.Argument.Name,
            _ => null,
        };
        return name is not null && error.Message.StartsWith(name + ": ", System.StringComparison.Ordinal);
    }
}
