using System.Globalization;
using System.Text;

namespace UserStack.Drill.Language;

// System call arguments and results: parser.y's expression rule and its struct forms.
public sealed partial class Parser
{
    /// <summary>expression: a primary, then `| primary` for OR-ed flags.</summary>
    private Expression ParseExpression()
    {
        var left = ParsePrimary();
        while (Peek().Is('|'))
        {
            int line = Next().Line;
            left = new OrExpression(line, left, ParsePrimary());
        }
        return left;
    }

    private Expression ParsePrimary()
    {
        var t = Peek();
        switch (t.Kind)
        {
            case TokenKind.Ellipsis:
                at++;
                return new EllipsisExpression(t.Line);
            case TokenKind.Integer:
                at++;
                return new IntegerExpression(t.Line, long.Parse(t.Text, CultureInfo.InvariantCulture), false);
            case TokenKind.Hex:
                at++;
                return new IntegerExpression(t.Line, unchecked((long)ulong.Parse(t.Text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)), true);
            case TokenKind.String:
                var text = new StringBuilder();
                while (Peek().Kind == TokenKind.String) text.Append(Unescape(Next().Text));
                bool prefix = Peek().Kind == TokenKind.Ellipsis;
                if (prefix) at++;
                return new StringExpression(t.Line, text.ToString(), prefix);
            case TokenKind.Word:
                at++;
                if (Peek().Is('('))
                {
                    var call = new CallExpression(t.Line, t.Text, ParseList('(', ')'));
                    // msg_name(...)=..., msg_iov(1)=[...]: a field whose name carries a count.
                    return Accept('=') ? new FieldExpression(t.Line, t.Text, ParseExpression()) : call;
                }
                if (Accept('=')) return new FieldExpression(t.Line, t.Text, ParseExpression());
                return new WordExpression(t.Line, t.Text);
            case TokenKind.Char when t.Is('['):
                return new ArrayExpression(t.Line, ParseList('[', ']'));
            case TokenKind.Char when t.Is('{'):
                return new StructExpression(t.Line, ParseList('{', '}', rawFallback: true));
            default:
                throw Error("an expression (a number, a NAME, \"string\", [..], {..} or ...)");
        }
    }

    /// <summary>
    /// A comma-separated list between <paramref name="open"/> and <paramref name="close"/>. Inside
    /// braces, an element that is not an expression (an MPLS entry, a GRE header) is kept as raw text.
    /// </summary>
    private List<Expression> ParseList(char open, char close, bool rawFallback = false)
    {
        Expect(open);
        var items = new List<Expression>();
        if (Accept(close)) return items;
        do
        {
            int mark = at;
            try { items.Add(ParseExpression()); }
            catch (ScriptSyntaxException) when (rawFallback)
            {
                at = mark;
                items.Add(RawElement(close));
            }
            if (rawFallback && !Peek().Is(',') && !Peek().Is(close)) { at = mark; items[^1] = RawElement(close); }
        } while (Accept(','));
        Expect(close);
        return items;
    }

    private RawExpression RawElement(char close)
    {
        var words = new List<string>();
        int line = Peek().Line, depth = 0;
        while (!(depth == 0 && (Peek().Is(',') || Peek().Is(close))))
        {
            var t = Next();
            if (t.Kind == TokenKind.End) throw new ScriptSyntaxException(t.Line, $"expected '{close}'");
            if (t.Is('(') || t.Is('[') || t.Is('{')) depth++;
            if (t.Is(')') || t.Is(']') || t.Is('}')) depth--;
            words.Add(t.Text);
        }
        return new RawExpression(line, string.Join(' ', words));
    }

    /// <summary>C escapes in string literals: \n, \t, \0, \\, \", \xHH.</summary>
    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 == s.Length) { sb.Append(s[i]); continue; }
            char c = s[++i];
            switch (c)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '0': sb.Append('\0'); break;
                case 'x' when i + 2 < s.Length && byte.TryParse(s.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b):
                    sb.Append((char)b); i += 2; break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }
}
