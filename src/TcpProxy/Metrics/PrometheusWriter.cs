using System.Text;

namespace TcpProxy.Metrics;

/// <summary>
/// Writes the Prometheus text exposition format, version 0.0.4, by hand:
/// one "# HELP" and "# TYPE" line per family, then its samples; HELP text
/// escapes backslash and newline, label values also the double quote.
/// </summary>
public sealed class PrometheusWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new(4096);

    public PrometheusWriter Family(string name, string type, string help)
    {
        _text.Append("# HELP ").Append(name).Append(' ');
        Escape(help, quote: false);
        _text.Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        return this;
    }

    /// <summary>One sample; <paramref name="label"/> null: unlabelled.</summary>
    internal PrometheusWriter Sample(string name, string? label, string? labelValue, MetricValue value)
    {
        Name(name, label, labelValue);
        _text.Append(value.ToString()).Append('\n');
        return this;
    }

    public override string ToString() => _text.ToString();

    private void Name(string name, string? label, string? labelValue)
    {
        _text.Append(name);
        if (label != null)
        {
            _text.Append('{').Append(label).Append("=\"");
            Escape(labelValue ?? "", quote: true);
            _text.Append("\"}");
        }
        _text.Append(' ');
    }

    private void Escape(string value, bool quote)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\':
                    _text.Append("\\\\");
                    break;
                case '\n':
                    _text.Append("\\n");
                    break;
                case '"' when quote:
                    _text.Append("\\\"");
                    break;
                default:
                    _text.Append(c);
                    break;
            }
        }
    }
}
