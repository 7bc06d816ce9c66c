using System.Text.RegularExpressions;

namespace UserStack.Drill.Language;

/// <summary>
/// The conditional lines of the packetdrill fork FreeBSD's tcp-testsuite is written for
/// (`#ifdef NAME`, `#ifndef NAME`, `#else`, `#endif`, `#define NAME`, `#undef NAME`): lines in a
/// branch not taken become empty, so line numbers stay those of the file. Symbols come from
/// `ustack drill --define NAME`; the suite's scripts use `STANDARD` (the RFC behaviour) and OS names.
/// </summary>
public static partial class Preprocessor
{
    public static string Apply(string text, IReadOnlySet<string> defined)
    {
        if (!text.Contains('#')) return text;
        var symbols = new HashSet<string>(defined, StringComparer.Ordinal);
        var lines = text.Split('\n');
        var open = new Stack<(bool ParentActive, bool Condition)>();
        bool active = true;
        for (int i = 0; i < lines.Length; i++)
        {
            var m = Directive().Match(lines[i]);
            if (!m.Success) { if (!active) lines[i] = ""; continue; }
            string name = m.Groups["name"].Value;
            switch (m.Groups["directive"].Value)
            {
                case "ifdef" or "ifndef":
                    bool condition = symbols.Contains(name) == (m.Groups["directive"].Value == "ifdef");
                    open.Push((active, condition));
                    active = active && condition;
                    break;
                case "else":
                    if (open.Count == 0) throw new ScriptSyntaxException(i + 1, "#else without #ifdef");
                    var (parent, cond) = open.Pop();
                    open.Push((parent, !cond));
                    active = parent && !cond;
                    break;
                case "endif":
                    if (open.Count == 0) throw new ScriptSyntaxException(i + 1, "#endif without #ifdef");
                    active = open.Pop().ParentActive;
                    break;
                case "define": if (active) symbols.Add(name); break;
                case "undef": if (active) symbols.Remove(name); break;
            }
            lines[i] = "";
        }
        if (open.Count > 0) throw new ScriptSyntaxException(lines.Length, "#ifdef without #endif");
        return string.Join('\n', lines);
    }

    [GeneratedRegex(@"^\s*#\s*(?<directive>ifdef|ifndef|else|endif|define|undef)\b\s*(?<name>\w*)")]
    private static partial Regex Directive();
}
