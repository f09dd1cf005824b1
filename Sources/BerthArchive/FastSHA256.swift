import BerthCore
import CCrypto

/// SHA-256 through OpenSSL's libcrypto (hardware instructions where the CPU has them): for layer blobs, where
/// BerthCore's portable `SHA256` was half of a large pull's CPU time.
public final class FastSHA256 {
    private let context: OpaquePointer?

    public init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public func update(_ bytes: ArraySlice<UInt8>) { bytes.withUnsafeBytes { update($0) } }

    /// The digest as lower-case hex; the hasher is done after this.
    public func finalizeHex() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        return SHA256.hex(out)
    }

    /// SHA-256 (hex) of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> String {
        let h = FastSHA256()
        h.update(bytes)
        return h.finalizeHex()
    }
}
