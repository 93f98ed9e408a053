import CSupport
import Glibc

/// inotify(7): the kernel's file-change events for watched directories.
public enum Inotify {
    public struct Mask: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let modify = Mask(rawValue: UInt32(IN_MODIFY))
        public static let attrib = Mask(rawValue: UInt32(IN_ATTRIB))
        public static let closeWrite = Mask(rawValue: UInt32(IN_CLOSE_WRITE))
        public static let movedFrom = Mask(rawValue: UInt32(IN_MOVED_FROM))
        public static let movedTo = Mask(rawValue: UInt32(IN_MOVED_TO))
        public static let create = Mask(rawValue: UInt32(IN_CREATE))
        public static let delete = Mask(rawValue: UInt32(IN_DELETE))
        public static let deleteSelf = Mask(rawValue: UInt32(IN_DELETE_SELF))
        public static let moveSelf = Mask(rawValue: UInt32(IN_MOVE_SELF))
        public static let unmount = Mask(rawValue: UInt32(IN_UNMOUNT))
        public static let queueOverflow = Mask(rawValue: UInt32(IN_Q_OVERFLOW))
        public static let ignored = Mask(rawValue: UInt32(IN_IGNORED))
        public static let onlyDirectory = Mask(rawValue: UInt32(IN_ONLYDIR))
        public static let dontFollow = Mask(rawValue: UInt32(IN_DONT_FOLLOW))
        public static let excludeUnlinked = Mask(rawValue: UInt32(IN_EXCL_UNLINK))
        public static let isDirectory = Mask(rawValue: UInt32(IN_ISDIR))
    }

    /// One event as the kernel reported it; `name` is empty for events on the watched directory itself.
    public struct Event: Equatable, Sendable {
        public let watch: Int32
        public let mask: Mask
        public let cookie: UInt32
        public let name: String
    }

    /// `inotify_init1(IN_NONBLOCK | IN_CLOEXEC)`
    public static func create() throws(SystemError) -> FileDescriptor {
        FileDescriptor(rawValue: try syscall("inotify_init1") { inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) })
    }

    /// Returns the watch descriptor (the same one again for a path already watched).
    /// ENOSPC means the user's watch limit is reached. `inotify_add_watch(2)`
    public static func addWatch(_ fd: FileDescriptor, path: String, mask: Mask) throws(SystemError) -> Int32 {
        try syscall("inotify_add_watch") { inotify_add_watch(fd.rawValue, path, mask.rawValue) }
    }

    /// `inotify_rm_watch(2)`
    public static func removeWatch(_ fd: FileDescriptor, watch: Int32) {
        _ = inotify_rm_watch(fd.rawValue, watch)
    }

    /// Reads every event queued now (empty when none). `read(2)`
    public static func drain(_ fd: FileDescriptor) throws(SystemError) -> [Event] {
        var events: [Event] = []
        while true {
            switch try fd.read(upTo: 64 * 1024) {
            case .wouldBlock: return events
            case .done(let bytes):
                if bytes.isEmpty { return events }
                events += parse(bytes)
            }
        }
    }

    /// Parses a buffer of `struct inotify_event` records (header of 16 bytes, then `len` name bytes).
    public static func parse(_ bytes: [UInt8]) -> [Event] {
        var events: [Event] = []
        var offset = 0
        bytes.withUnsafeBytes { raw in
            while offset + 16 <= raw.count {
                let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let cookie = raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
                let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                let nameStart = offset + 16
                let nameEnd = min(nameStart + length, raw.count)
                var nameBytes = Array(raw[nameStart..<nameEnd])
                if let nul = nameBytes.firstIndex(of: 0) { nameBytes.removeSubrange(nul...) }
                events.append(Event(watch: wd, mask: Mask(rawValue: mask), cookie: cookie,
                                    name: String(decoding: nameBytes, as: UTF8.self)))
                offset = nameStart + length
            }
        }
        return events
    }
}
