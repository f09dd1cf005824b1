import BerthCgroups
import BerthCore
import BerthOS
import BerthRuntime
import Glibc

extension ContainerService {
    /// After a start or a crash: loads every record, adopts live shims, marks containers whose shim is gone as
    /// exited with their recorded status, and finishes or undoes half-done work.
    func restore() async {
        loadNetworks()
        await volumes.load()
        let names = (try? FileSystem.list(configuration.containersDir)) ?? []
        for id in names {
            let dir = recordDir(id)
            guard let bytes = try? FileSystem.readFile(dir + "/config.v2.json"),
                let json = try? JSONValue.parse(bytes: bytes),
                var record = try? ContainerRecord(json: json)
            else {
                // Created but never recorded (a crash inside create): nothing refers to it.
                logger.warning("removing incomplete container", metadata: [LogKey.container: "\(id)"])
                try? await storage.remove(id: id)
                try? FileSystem.removeTree(dir)
                continue
            }
            records[id] = record
            runtimes[id] = Runtime()
            if record.status == .removing {
                await removeQuietly(id)
                continue
            }
            guard await storage.exists(id: id) else {
                logger.warning("container layer missing, removing container", metadata: [LogKey.container: "\(id)"])
                await removeQuietly(id)
                continue
            }
            guard record.isRunning else { continue }
            let output = runtimes[id]?.output ?? OutputHub()
            if let (session, pid) = await launcher.reconnect(
                id: id, stateDir: stateDir(id), output: output,
                onEvent: { [weak self] event in
                    Task { await self?.shimEvent(id, event) }
                })
            {
                runtimes[id]?.session = session
                record.pid = pid
                // Its volumes are in use again (a mounted one stays as it is).
                for m in record.mounts where m.type == "volume" {
                    _ = try? await volumes.mount(m.name, callerID: id)
                }
                saveQuietly(record)
                logger.info("adopted running container", metadata: [LogKey.container: "\(id)", LogKey.pid: "\(pid)"])
                startHealthChecks(id)
                continue
            }
            let file = "\(stateDir(id))/exit.json"
            let status: ExitStatus
            if let b = try? FileSystem.readFile(file), let j = try? JSONValue.parse(bytes: b),
                let s = try? ExitStatus(json: j)
            {
                status = s
            } else {
                status = ExitStatus(
                    exitCode: 137, oomKilled: false, finishedAt: Clock.nowNanos(), error: "shim exited unexpectedly")
            }
            logger.info("container exited while the daemon was down", metadata: [LogKey.container: "\(id)"])
            Cgroups.detect().remove(path: "\(configuration.cgroupParent)/\(id)")
            await recordExit(id, status)
        }
        await restoreNetworks()
        // Containers that exited while the daemon was down were scheduled by their policies above (a
        // `restarting` one too); `always` and `unless-stopped` start the others.
        await startByPolicyAfterRestart()
    }
}
