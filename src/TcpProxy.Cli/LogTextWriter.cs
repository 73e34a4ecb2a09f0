using System.IO;
using System.Text;
using TcpProxy.Logging;

namespace TcpProxy.Cli;

/// <summary>
/// A TextWriter for the command-line parser's error messages that hands each
/// line to the stderr <see cref="LogWriter"/>: a usage error on a full or
/// stuck stderr is dropped like any log line instead of throwing.
/// </summary>
internal sealed class LogTextWriter : TextWriter
{
    private readonly LogWriter _writer;
    private readonly StringBuilder _line = new();

    public LogTextWriter(LogWriter writer) => _writer = writer;

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        if (value == '\n')
            Flush();
        else if (value != '\r')
            _line.Append(value);
    }

    public override void Flush()
    {
        if (_line.Length == 0)
            return;
        _writer.WriteLine(LogPriority.Error, default, _line.ToString());
        _line.Clear();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            Flush();
        base.Dispose(disposing);
    }
}
