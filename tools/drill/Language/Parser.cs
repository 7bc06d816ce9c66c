using System.Globalization;

namespace UserStack.Drill.Language;

/// <summary>A script packetdrill itself would reject: the line and what was expected there.</summary>
public sealed class ScriptSyntaxException(int line, string message) : Exception($"line {line}: {message}")
{
    public int Line { get; } = line;
    public string Reason { get; } = message;
}

/// <summary>
/// A recursive-descent parser for the whole packetdrill language, rule by rule after
/// google/packetdrill's grammar (parser.y): option lines, init and cleanup commands, event times
/// (absolute, `+` relative, `*`, `~` ranges, `...` blocking ends), TCP, UDP and ICMP packets with
/// their IP info and outer headers, system calls with expressions, shell commands and `%{ }%`
/// code. It accepts every script packetdrill accepts and reports anything else with its line.
/// What a script means is the runner's business, not the parser's.
/// </summary>
public sealed partial class Parser
{
    private readonly List<Token> tokens;
    private readonly string[] lines;
    private int at;

    private Parser(string text, IReadOnlyDictionary<string, string> defines)
    {
        tokens = Lexer.Tokenize(text);
        if (defines.Count > 0)
            for (int i = 0; i < tokens.Count; i++)
                if (tokens[i].Kind == TokenKind.Word && defines.TryGetValue(tokens[i].Text, out var value)) tokens[i] = Defined(value, tokens[i].Line);
        lines = text.Split('\n');
    }

    /// <summary>
    /// Parses a script. <paramref name="defines"/> are packetdrill's `-D NAME=VALUE`: a word equal to
    /// NAME reads as VALUE (a number, a "string", a `command` or a word), and NAME counts as defined
    /// for `#ifdef`.
    /// </summary>
    public static Script Parse(string text, IReadOnlyDictionary<string, string>? defines = null)
    {
        defines ??= new Dictionary<string, string>();
        return new Parser(Preprocessor.Apply(text, defines.Keys.ToHashSet()), defines).ParseScript();
    }

    /// <summary>lexer.l's word(): a define's value as the token it spells.</summary>
    private static Token Defined(string value, int line)
    {
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"') return new Token(TokenKind.String, value[1..^1], line);
        if (value.Length >= 2 && value[0] == '`' && value[^1] == '`') return new Token(TokenKind.BackQuoted, value[1..^1], line);
        if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)) return new Token(TokenKind.Integer, value, line);
        if (value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && long.TryParse(value[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out _))
            return new Token(TokenKind.Hex, value, line);
        return new Token(TokenKind.Word, value, line);
    }

    private Token Peek(int ahead = 0) => tokens[Math.Min(at + ahead, tokens.Count - 1)];
    private Token Next() => tokens[Math.Min(at++, tokens.Count - 1)];
    private bool Accept(char c) { if (!Peek().Is(c)) return false; at++; return true; }
    private bool AcceptWord(string word) { if (!Peek().IsWord(word)) return false; at++; return true; }

    private ScriptSyntaxException Error(string expected) =>
        new(Peek().Line, $"expected {expected}, found {Peek()}");

    private void Expect(char c) { if (!Accept(c)) throw Error($"'{c}'"); }
    private void ExpectWord(string word) { if (!AcceptWord(word)) throw Error($"'{word}'"); }

    private long ExpectInteger(string what)
    {
        var t = Peek();
        if (t.Kind == TokenKind.Integer) { at++; return long.Parse(t.Text, CultureInfo.InvariantCulture); }
        if (t.Kind == TokenKind.Hex) { at++; return Convert.ToInt64(t.Text[2..], 16); }
        throw Error(what);
    }

    private Script ParseScript()
    {
        var options = new List<ScriptOption>();
        while (Peek().Kind == TokenKind.Option) options.Add(ParseOption());
        CommandEvent? init = null, cleanup = null;
        if (Peek().Kind == TokenKind.BackQuoted) init = Command(Next(), new EventTime(TimeKind.Absolute, 0, 0, null));
        var events = new List<ScriptEvent>();
        while (StartsTime(Peek())) events.Add(ParseEvent());
        if (Peek().Kind == TokenKind.BackQuoted) cleanup = Command(Next(), new EventTime(TimeKind.Absolute, 0, 0, null));
        if (Peek().Kind != TokenKind.End) throw Error("an event (a time such as 0, +.1 or *)");
        return new Script(options, init, events, cleanup);
    }

    private static bool StartsTime(Token t) => t.IsNumber || t.Is('+') || t.Is('*');

    private CommandEvent Command(Token t, EventTime time) => new(t.Line, time, t.Text) { Text = $"`{t.Text}`" };

    /// <summary>option: `--name`, `--name=value`, `--name=word=value` (parser.y's option rule).</summary>
    private ScriptOption ParseOption()
    {
        var name = Next();
        if (!Accept('=')) return new ScriptOption(name.Line, name.Text, null);
        var value = Next();
        if (value.Kind is TokenKind.End or TokenKind.Char) throw new ScriptSyntaxException(value.Line, $"option --{name.Text} needs a value");
        string text = value.Text;
        if (value.Kind == TokenKind.Word && Accept('='))
        {
            var rest = Next();
            text += "=" + (rest.Kind == TokenKind.BackQuoted ? $"`{rest.Text}`" : rest.Text);
        }
        return new ScriptOption(name.Line, name.Text, text);
    }

    private ScriptEvent ParseEvent()
    {
        int line = Peek().Line;
        var time = ParseEventTime();
        ScriptEvent e;
        var t = Peek();
        if (t.Is('<') || t.Is('>')) e = ParsePacket(line, time);
        else if (t.Kind == TokenKind.BackQuoted) { at++; e = new CommandEvent(line, time, t.Text); }
        else if (t.Kind == TokenKind.Code) { at++; e = new CodeEvent(line, time, t.Text); }
        else if (t.Kind == TokenKind.Ellipsis || (t.Kind == TokenKind.Word && Peek(1).Is('('))) e = ParseSyscall(line, time);
        else throw Error("a packet ('<' or '>'), a system call, a `command` or %{ code }%");

        bool outbound = e is PacketEvent { Direction: Direction.Outbound };
        if (time.Kind == TimeKind.Any && !outbound)
            throw new ScriptSyntaxException(line, "event time <star> can only be used with outbound packets");
        if (time.Kind is TimeKind.AbsoluteRange or TimeKind.RelativeRange && !outbound)
            throw new ScriptSyntaxException(line, "event time range can only be used with outbound packets");
        return e with { Text = SourceText(line) };
    }

    private string SourceText(int line)
    {
        var text = line - 1 < lines.Length ? lines[line - 1] : "";
        int comment = text.IndexOf("//", StringComparison.Ordinal);
        return (comment >= 0 ? text[..comment] : text).Trim();
    }

    private EventTime ParseEventTime()
    {
        if (Accept('*')) return new EventTime(TimeKind.Any, 0, 0, null);
        if (Accept('+'))
        {
            long start = ParseTime();
            if (!Accept('~')) return new EventTime(TimeKind.Relative, start, 0, ParseBlockingEnd());
            Expect('+');
            long end = ParseTime();
            if (end < start) throw new ScriptSyntaxException(Peek().Line, "time range is backwards");
            return new EventTime(TimeKind.RelativeRange, start, end, null);
        }
        long absolute = ParseTime();
        if (!Accept('~')) return new EventTime(TimeKind.Absolute, absolute, 0, ParseBlockingEnd());
        long absoluteEnd = ParseTime();
        if (absoluteEnd < absolute) throw new ScriptSyntaxException(Peek().Line, "time range is backwards");
        return new EventTime(TimeKind.AbsoluteRange, absolute, absoluteEnd, null);
    }

    /// <summary>`...T` before a system call: the call blocks and returns at T.</summary>
    private long? ParseBlockingEnd()
    {
        if (Peek().Kind != TokenKind.Ellipsis) return null;
        at++;
        return ParseTime();
    }

    /// <summary>time: a non-negative integer or float of seconds, kept in microseconds.</summary>
    private long ParseTime()
    {
        var t = Peek();
        if (!t.IsNumber) throw Error("a time in seconds");
        at++;
        double seconds = double.Parse(t.Text, CultureInfo.InvariantCulture);
        if (seconds < 0) throw new ScriptSyntaxException(t.Line, "negative time");
        return t.Kind == TokenKind.Integer ? (long)seconds * 1_000_000 : (long)(seconds * 1e6);
    }

    private SyscallEvent ParseSyscall(int line, EventTime time)
    {
        if (Peek().Kind == TokenKind.Ellipsis) // `+0 ...0.5 read(...)` written with a space
        {
            at++;
            time = time with { BlockingEnd = ParseTime() };
        }
        var name = Next();
        if (name.Kind != TokenKind.Word) throw new ScriptSyntaxException(name.Line, $"expected a system call name, found {name}");
        Expect('(');
        var arguments = new List<Expression>();
        if (!Accept(')'))
        {
            do arguments.Add(ParseExpression()); while (Accept(','));
            Expect(')');
        }
        Expect('=');
        var result = ParseExpression();
        string? errno = null, note = null;
        if (Peek().Kind == TokenKind.Word) errno = Next().Text;
        if (Peek().Is('(')) note = ParseNote();
        return new SyscallEvent(line, time, name.Text, arguments, result, errno, note);
    }

    /// <summary>note: `(Operation now in progress)`: free words, kept as text.</summary>
    private string ParseNote()
    {
        Expect('(');
        var words = new List<string>();
        int depth = 0;
        while (!(Peek().Is(')') && depth == 0))
        {
            var t = Next();
            if (t.Kind == TokenKind.End) throw new ScriptSyntaxException(t.Line, "unterminated note: expected ')'");
            if (t.Is('(')) depth++;
            if (t.Is(')')) depth--;
            words.Add(t.Text);
        }
        Expect(')');
        return string.Join(' ', words);
    }
}
