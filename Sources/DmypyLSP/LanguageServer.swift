import DmypyClient

public enum LanguageServer {
    public static func run(context: ClientContext, flags: [String]) -> Int32 { 2 }
}
