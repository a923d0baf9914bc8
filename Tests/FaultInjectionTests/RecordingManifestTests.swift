import FaultInjection
import Foundation
import Testing

/// The manifest's guest RAM field: recordings made before it was noted still open.
@Suite("Recording manifest")
struct RecordingManifestTests {
    static let older = #"{"format":1,"kernel":"k.elf","image":"id","qemuVersion":"QEMU emulator version 7.2.0","qemuArguments":["-m","128M"],"icountShift":4,"eventLog":"events.rr","snapshotImage":"snapshots.qcow2","transcript":"uart.txt","recordedAt":"2026-12-01T00:00:00Z","seconds":1}"#

    @Test func aManifestWithoutMemoryDecodesAndOneWithItRoundTrips() throws {
        var manifest = try JSONDecoder().decode(RecordingManifest.self, from: Data(Self.older.utf8))
        #expect(manifest.memory == nil)
        #expect(manifest.icountShift == 4)
        manifest.memory = "32M"
        let again = try JSONDecoder().decode(RecordingManifest.self, from: try JSONEncoder().encode(manifest))
        #expect(again == manifest)
        #expect(again.memory == "32M")
    }
}
