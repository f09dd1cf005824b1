import BerthAPIClient
import BerthCore

/// `POST /containers/create` with the docker CLI's pull policy: `missing` pulls after a "No such image" 404 and
/// tries again, `always` pulls first, `never` reports the 404. Errors are shown `berth: …` and exit 125.
struct ContainerCreator {
    let daemon: Daemon
    /// `run` or `create`.
    let command: String

    /// Creates the container and returns its ID; the daemon's warnings go to stderr.
    func create(_ request: CreateRequest, pull: String) throws(CLIError) -> String {
        if pull == "always" { try pullImage(request.image, platform: request.query.first { $0.0 == "platform" }?.1) }
        let body = Array((request.body.serialized + "\n").utf8)  // Go's encoder ends the body with a newline
        var response = try send(request, body)
        if response.status == 404, pull == "missing", Self.isMissingImage(response) {
            Output.error("Unable to find image '\(ImageName.tagged(request.image))' locally")
            try pullImage(request.image, platform: request.query.first { $0.0 == "platform" }?.1)
            response = try send(request, body)
        }
        do { try APIClient.check(response.status, response.body) } catch { throw CLIError(error).withHelp(command) }
        guard let id = response.json?["Id"]?.stringValue else {
            throw CLIError("unexpected answer from the daemon").withHelp(command)
        }
        for warning in response.json?["Warnings"]?.stringArray ?? [] { Output.error("WARNING: \(warning)") }
        return id
    }

    private func send(_ request: CreateRequest, _ body: [UInt8]) throws(CLIError) -> APIClient.Response {
        do {
            return try daemon.client.call(
                "POST", "/containers/create", query: request.query, headers: [("Content-Type", "application/json")],
                body: body)
        } catch {
            throw CLIError(error).withHelp(command)
        }
    }

    static func isMissingImage(_ response: APIClient.Response) -> Bool {
        let message = response.json?["message"]?.stringValue ?? ""
        return message.lowercased().contains("no such image")
    }

    /// `POST /images/create?fromImage=…&tag=…`, progress shown on stderr.
    func pullImage(_ image: String, platform: String?) throws(CLIError) {
        let name = ImageName(image)
        var query: [(String, String)] = [("fromImage", name.repository)]
        if let tag = name.tag ?? name.digest { query.append(("tag", tag)) } else { query.append(("tag", "latest")) }
        if let platform { query.append(("platform", platform)) }
        do {
            try daemon.progress(
                "POST", "/images/create", query: query, image: image, action: "pulling",
                isEnd: { $0["status"]?.stringValue?.hasPrefix("Status: ") == true }
            ) { message in
                if let status = message["status"]?.stringValue {
                    let id = message["id"]?.stringValue
                    Output.error(id.map { "\($0): \(status)" } ?? status)
                }
            }
        } catch {
            throw error.withHelp(command)
        }
    }
}
