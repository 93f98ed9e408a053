import Testing
@testable import DmypyWatch

@Suite struct ModuleGraphTests {
    typealias Module = ModuleGraph.Module

    /// Modules named `name` at `/r/<name as path>.py` importing `imports`.
    func graph(_ edges: [String: [String]], missing: [String: [String]] = [:]) -> ModuleGraph {
        var graph = ModuleGraph(root: "/r")
        var modules: [String: Module] = [:]
        for (name, imports) in edges {
            modules[name] = Module(path: name.split(separator: ".").joined(separator: "/") + ".py",
                                   imports: imports, missing: missing[name] ?? [])
        }
        graph.replace(with: modules)
        return graph
    }

    @Test func chain() {
        let g = graph(["a": ["b"], "b": ["c"], "c": []])
        #expect(g.stale(afterChanging: ["/r/c.py"], removing: []) == ["a", "b", "c"])
        #expect(g.stale(afterChanging: ["/r/b.py"], removing: []) == ["a", "b"])
        #expect(g.stale(afterChanging: ["/r/a.py"], removing: []) == ["a"])
        #expect(g.stale(afterChanging: [], removing: ["/r/c.py"]) == ["a", "b", "c"])
    }

    @Test func diamond() {
        let g = graph(["a": ["b", "c"], "b": ["d"], "c": ["d"], "d": [], "e": []])
        #expect(g.stale(afterChanging: ["/r/d.py"], removing: []) == ["a", "b", "c", "d"])
        #expect(g.stale(afterChanging: ["/r/b.py"], removing: []) == ["a", "b"])
        #expect(g.importers(of: "d") == ["b", "c"])
    }

    @Test func cycle() {
        let g = graph(["a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"], "e": ["e"]])
        #expect(g.stale(afterChanging: ["/r/c.py"], removing: []) == ["a", "b", "c", "d"])
        #expect(g.stale(afterChanging: ["/r/e.py"], removing: []) == ["e"])
    }

    @Test func lookups() {
        var g = ModuleGraph(root: "/r")
        g.replace(with: [
            "pkg": Module(path: "./pkg/__init__.py", imports: ["pkg.mod"]),
            "pkg.mod": Module(path: "pkg//mod.py"),
            "builtins": Module(path: "/typeshed/stdlib/builtins.pyi"),
            "__main__": Module(path: "/r/scripts/run.py", imports: ["pkg"]),
            "nopath": Module(path: nil),
        ])
        #expect(g.count == 5)
        #expect(g.module(forPath: "/r/pkg/mod.py") == "pkg.mod")
        #expect(g.module(forPath: "pkg/mod.py") == "pkg.mod")
        #expect(g.path(forModule: "pkg") == "/r/pkg/__init__.py")
        #expect(g.path(forModule: "nopath") == nil)
        #expect(g.importers(of: "pkg") == ["__main__"])
        #expect(g.directoriesToWatch == ["/r/pkg", "/typeshed/stdlib", "/r/scripts"])
        #expect(g.sourceRoots == ["/r", "/typeshed/stdlib"])
    }

    @Test func newFileSatisfiesAMissingImport() {
        let g = graph(["app": ["core"], "core": [], "main": ["app"]],
                      missing: ["app": ["pkg.util", "yaml"], "core": ["ns.sub"]])
        // the module itself, and its importers
        #expect(g.stale(afterChanging: ["/r/pkg/util.py"], removing: []) == ["app", "main"])
        #expect(g.stale(afterChanging: ["/r/pkg/util.pyi"], removing: []) == ["app", "main"])
        #expect(g.stale(afterChanging: ["/r/pkg/util/__init__.py"], removing: []) == ["app", "main"])
        // a stub package (PEP 561)
        #expect(g.stale(afterChanging: ["/r/yaml-stubs/__init__.pyi"], removing: []) == ["app", "main"])
        // a file deeper down makes its directory a namespace package
        #expect(g.stale(afterChanging: ["/r/ns/sub/deep.py"], removing: []) == ["core", "app", "main"])
        // nothing wants it
        #expect(g.stale(afterChanging: ["/r/other.py", "/r/notes.txt", "/elsewhere/pkg/util.py"], removing: []).isEmpty)
        // a new stub next to a module takes precedence: the module is stale
        #expect(g.stale(afterChanging: ["/r/core.pyi"], removing: []) == ["core", "app", "main"])
    }

    @Test func newPyTypedSatisfiesMissingImportsOfItsPackage() {
        var g = ModuleGraph()
        g.replace(with: [
            "app": Module(path: "/p/app.py", missing: ["lib.sub.x"]),
            "other": Module(path: "/site/other/__init__.py"),
        ])
        #expect(g.stale(afterChanging: ["/site/lib/py.typed"], removing: []) == ["app"])
    }

    @Test func removedDirectoryMakesItsModulesStale() {
        var g = graph(["pkg.a": ["pkg"], "pkg.b": [], "main": ["pkg.b"], "x": []])
        g.apply(delta: ModuleGraph.Delta(changed: ["pkg": ModuleGraph.Module(path: "pkg/__init__.py")]))
        #expect(g.stale(afterChanging: [], removing: ["/r/pkg"]) == ["pkg", "pkg.a", "pkg.b", "main"])
        #expect(g.stale(afterChanging: [], removing: ["/r/p"]).isEmpty)
    }

    @Test func deltaUpdatesReverseEdges() {
        var g = graph(["a": ["b"], "b": [], "c": ["b"]])
        g.apply(delta: ModuleGraph.Delta(changed: ["a": Module(path: "a.py", imports: [])], removed: ["c"]))
        #expect(g.importers(of: "b").isEmpty)
        #expect(g.stale(afterChanging: ["/r/b.py"], removing: []) == ["b"])
        #expect(g.module(forPath: "/r/c.py") == nil && g.count == 2)
        g.apply(delta: ModuleGraph.Delta(changed: ["d": Module(path: "d.py", imports: ["b"], missing: ["gone"])]))
        #expect(g.stale(afterChanging: ["/r/b.py"], removing: []) == ["b", "d"])
        #expect(g.stale(afterChanging: ["/r/gone.py"], removing: []) == ["d"])
        g.apply(delta: ModuleGraph.Delta(changed: ["d": Module(path: "d.py", imports: ["b"])]))
        #expect(g.stale(afterChanging: ["/r/gone.py"], removing: []).isEmpty)
    }

    @Test func staleMarks() {
        var g = graph(["a": ["b"], "b": []])
        g.markStale(g.stale(afterChanging: ["/r/b.py"], removing: []))
        #expect(g.staleModules == ["a", "b"])
        g.clearStale(["b"])
        #expect(g.staleModules == ["a"])
        g.clearStale()
        #expect(g.staleModules.isEmpty)
    }

    /// 20,000 modules: a chain as deep as the graph (no recursion to overflow) and a core module
    /// imported by everything.
    @Test func scale() {
        let n = 20_000
        var chain: [String: Module] = [:]
        var star: [String: Module] = ["core": Module(path: "/s/core.py")]
        for i in 0..<n {
            chain["m\(i)"] = Module(path: "/c/m\(i).py", imports: i + 1 < n ? ["m\(i + 1)"] : [])
            star["m\(i)"] = Module(path: "/s/m\(i).py", imports: ["core", "m\((i + 1) % n)"])
        }
        var g = ModuleGraph()
        g.replace(with: chain)
        #expect(g.stale(afterChanging: ["/c/m\(n - 1).py"], removing: []).count == n)
        g.replace(with: star)
        #expect(g.stale(afterChanging: ["/s/core.py"], removing: []).count == n + 1)
        #expect(g.importers(of: "core").count == n)
    }
}

@Suite struct ModuleNamesTests {
    @Test func rule() {
        #expect(ModuleNames.moduleName(path: "/r/pkg/sub/mod.py", root: "/r") == "pkg.sub.mod")
        #expect(ModuleNames.moduleName(path: "/r/pkg/sub/mod.pyi", root: "/r") == "pkg.sub.mod")
        #expect(ModuleNames.moduleName(path: "/r/pkg/sub/__init__.py", root: "/r") == "pkg.sub")
        #expect(ModuleNames.moduleName(path: "/r/pkg/sub", root: "/r") == "pkg.sub")
        #expect(ModuleNames.moduleName(path: "/r/foo-stubs/__init__.pyi", root: "/r") == "foo")
        #expect(ModuleNames.moduleName(path: "/r/my-pkg/mod.py", root: "/r") == nil)
        #expect(ModuleNames.moduleName(path: "/r/1pkg/mod.py", root: "/r") == nil)
        #expect(ModuleNames.moduleName(path: "/r/x.pth", root: "/r") == nil)
        #expect(ModuleNames.moduleName(path: "/r/__init__.py", root: "/r") == nil)
        #expect(ModuleNames.moduleName(path: "/rx/a.py", root: "/r") == nil)
        #expect(ModuleNames.sourceRoot(module: "a.b.c", path: "/r/a/b/c.py") == "/r")
        #expect(ModuleNames.sourceRoot(module: "a.b", path: "/r/a/b/__init__.pyi") == "/r")
        #expect(ModuleNames.sourceRoot(module: "foo.x", path: "/s/foo-stubs/x.pyi") == "/s")
        #expect(ModuleNames.sourceRoot(module: "__main__", path: "/r/run.py") == nil)
    }

    @Test func paths() {
        #expect(PathName.normalize("a/./b//c/../d/", relativeTo: "/r") == "/r/a/b/d")
        #expect(PathName.normalize("/../x") == "/x")
        #expect(PathName.normalize("../x") == "../x")
        // Paths that are already normal come back as they are; every other one is rebuilt.
        for path in ["/", "/a", "/a/b.py", "/a/.b/..c/...", "/a/b-stubs/__init__.pyi", "/é/ß"] {
            #expect(PathName.isNormalAbsolute(path), "\(path)")
            #expect(PathName.normalize(path, relativeTo: "/r") == path)
        }
        for (path, normal) in [("//", "/"), ("/a/", "/a"), ("/a//b", "/a/b"), ("/a/./b", "/a/b"), ("/a/../b", "/b"),
                               ("/.", "/"), ("/..", "/"), ("/a/.", "/a"), ("/a/..", "/"), ("a/b", "/r/a/b"), ("", "/r")] {
            #expect(!PathName.isNormalAbsolute(path), "\(path)")
            #expect(PathName.normalize(path, relativeTo: "/r") == normal, "\(path)")
        }
        #expect(PathName.isUnder("/r/a", "/r") && PathName.isUnder("/r", "/r") && !PathName.isUnder("/ra", "/r"))
        #expect(PathName.parent("/a") == "/" && PathName.parent("/a/b") == "/a")
    }
}
