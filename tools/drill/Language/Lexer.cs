using System.Text.RegularExpressions;

namespace UserStack.Drill.Language;

/// <summary>The kinds of token packetdrill's lexer (lexer.l) produces.</summary>
public enum TokenKind { Option, Float, Integer, Hex, Word, String, BackQuoted, Code, Ipv4Address, Ipv6Address, Ellipsis, Char, End }

/// <summary>One token with the line it starts on; <see cref="Text"/> is the literal as written (quotes stripped for strings).</summary>
public readonly record struct Token(TokenKind Kind, string Text, int Line)
{
    public bool Is(char c) => Kind == TokenKind.Char && Text.Length == 1 && Text[0] == c;
    public bool IsWord(string word) => Kind == TokenKind.Word && Text == word;
    public bool IsNumber => Kind is TokenKind.Integer or TokenKind.Float;
    public override string ToString() => Kind switch
    {
        TokenKind.End => "end of script",
        TokenKind.String => $"\"{Text}\"",
        TokenKind.BackQuoted => $"`{Text}`",
        _ => $"'{Text}'",
    };
}

/// <summary>
/// Splits a script into tokens the way packetdrill's flex lexer does: at each position the
/// longest match wins, and between equally long matches the rule listed first (so `8080` is an
/// integer, not a word, and `0x1f` is hex). Whitespace and both comment styles are skipped;
/// `%{ ... }%` is one Code token; backquotes make a shell command. Keywords stay words: the parser
/// knows them by their text.
/// </summary>
public static partial class Lexer
{
    private enum Rule { Ellipsis, Option, Float, Integer, Hex, Word, String, BackQuoted, Char, Space, LineComment, BlockComment, Code, Ipv4, Ipv6 }

    private static readonly (Rule Rule, Regex Pattern)[] Rules =
    [
        (Rule.Ellipsis, EllipsisPattern()),
        (Rule.Option, OptionPattern()),
        (Rule.Float, FloatPattern()),
        (Rule.Integer, IntegerPattern()),
        (Rule.Hex, HexPattern()),
        (Rule.Word, WordPattern()),
        (Rule.String, StringPattern()),
        (Rule.BackQuoted, BackQuotedPattern()),
        (Rule.Char, CharPattern()),
        (Rule.Space, SpacePattern()),
        (Rule.LineComment, LineCommentPattern()),
        (Rule.BlockComment, BlockCommentPattern()),
        (Rule.Code, CodePattern()),
        (Rule.Ipv4, Ipv4Pattern()),
        (Rule.Ipv6, Ipv6Pattern()),
    ];

    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        int line = 1, at = 0;
        while (at < text.Length)
        {
            Rule best = Rule.Char;
            int bestLength = 0;
            foreach (var (rule, pattern) in Rules)
            {
                var m = pattern.Match(text, at);
                if (m.Success && m.Index == at && m.Length > bestLength) { best = rule; bestLength = m.Length; }
            }
            var lexeme = text.Substring(at, bestLength);
            var token = best switch
            {
                Rule.Ellipsis => new Token(TokenKind.Ellipsis, lexeme, line),
                Rule.Option => new Token(TokenKind.Option, lexeme[2..], line),
                Rule.Float => new Token(TokenKind.Float, lexeme, line),
                Rule.Integer => new Token(TokenKind.Integer, lexeme, line),
                Rule.Hex => new Token(TokenKind.Hex, lexeme, line),
                Rule.Word => new Token(TokenKind.Word, lexeme, line),
                Rule.String => new Token(TokenKind.String, lexeme[1..^1], line),
                Rule.BackQuoted => new Token(TokenKind.BackQuoted, lexeme[1..^1], line),
                Rule.Code => new Token(TokenKind.Code, lexeme[2..^2].Trim(' ', '\t'), line),
                Rule.Ipv4 => new Token(TokenKind.Ipv4Address, lexeme, line),
                Rule.Ipv6 => new Token(TokenKind.Ipv6Address, lexeme, line),
                Rule.Char => new Token(TokenKind.Char, lexeme, line),
                _ => (Token?)null,
            };
            if (token is { } t) tokens.Add(t);
            line += lexeme.Count(c => c == '\n');
            at += bestLength;
        }
        tokens.Add(new Token(TokenKind.End, "", line));
        return tokens;
    }

    [GeneratedRegex(@"\G\.\.\.")] private static partial Regex EllipsisPattern();
    [GeneratedRegex(@"\G--[a-zA-Z0-9_]+")] private static partial Regex OptionPattern();
    [GeneratedRegex(@"\G-?[0-9]*\.[0-9]+")] private static partial Regex FloatPattern();
    [GeneratedRegex(@"\G-?[0-9]+")] private static partial Regex IntegerPattern();
    [GeneratedRegex(@"\G0x[0-9a-fA-F]+")] private static partial Regex HexPattern();
    [GeneratedRegex(@"\G[a-zA-Z0-9_]+")] private static partial Regex WordPattern();
    [GeneratedRegex(@"\G""(\\.|[^""])*""")] private static partial Regex StringPattern();
    [GeneratedRegex(@"\G`(\\.|[^`])*`")] private static partial Regex BackQuotedPattern();
    [GeneratedRegex(@"\G[^ \t\n]")] private static partial Regex CharPattern();
    [GeneratedRegex(@"\G[ \t\n\r]+")] private static partial Regex SpacePattern();
    [GeneratedRegex(@"\G//[^\n]*(\n|$)")] private static partial Regex LineCommentPattern();
    [GeneratedRegex(@"\G/\*([^*]|\*(?!/))*\*/")] private static partial Regex BlockCommentPattern();
    [GeneratedRegex(@"\G%\{([^}]|\}(?!%))*\}%")] private static partial Regex CodePattern();
    [GeneratedRegex(@"\G[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")] private static partial Regex Ipv4Pattern();

    // lexer.l's ipv6_addr: the forms of RFC 4291 §2.2, longest first.
    [GeneratedRegex(@"\G(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|(?:[0-9a-fA-F]{1,4}:){1,4}:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|::ffff:(?:0{1,4}:)?[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|(?:[0-9a-fA-F]{1,4}:){1,7}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?|:(?::[0-9a-fA-F]{1,4}){1,7}|::)")]
    private static partial Regex Ipv6Pattern();
}
