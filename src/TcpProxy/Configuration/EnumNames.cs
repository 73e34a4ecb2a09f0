using System;
using System.Collections.Generic;

namespace TcpProxy.Configuration;

/// <summary>
/// An enum's values paired with the words the command line, --help and the
/// logs use for them. Each pair is written once, next to its enum; nothing
/// depends on the order of the values or of a string array.
/// </summary>
public sealed class EnumNames<T> where T : struct, Enum
{
    private readonly (T Value, string Name)[] _pairs;

    public EnumNames(params (T Value, string Name)[] pairs) => _pairs = pairs;

    /// <summary>The words, in the order --help and error messages list them.</summary>
    public IEnumerable<string> Names
    {
        get
        {
            foreach ((_, string name) in _pairs)
                yield return name;
        }
    }

    public string NameOf(T value)
    {
        foreach ((T candidate, string name) in _pairs)
        {
            if (EqualityComparer<T>.Default.Equals(candidate, value))
                return name;
        }
        throw new ArgumentOutOfRangeException(nameof(value), value, "has no name");
    }

    /// <summary>The value named exactly (case matters, as on the command line).</summary>
    public bool TryParse(string name, out T value)
    {
        foreach ((T candidate, string candidateName) in _pairs)
        {
            if (string.Equals(candidateName, name, StringComparison.Ordinal))
            {
                value = candidate;
                return true;
            }
        }
        value = default;
        return false;
    }
}
