-- Berth engine configuration: berthd evaluates this file once at start-up (and again on SIGHUP) and uses
-- the table it returns. Copy it to /etc/berth/config.lua (or pass `berthd --config PATH`) and edit.
--
-- The file runs in a sandbox: string, table, math, utf8 and os.time/clock/date/difftime only; no io, no
-- os.execute, no require. It may compute values (locals, string functions) as long as it returns one table.
-- An unknown key, a wrong type or an unknown driver stops berthd with FILE:LINE: key: reason.
-- Daemon flags (--root, --exec-root, -H, --storage-driver, --default-network, --hooks-dir, --log-level,
-- --cgroup-favordynmods) override what is set here.
-- Every value below is the built-in default, so this file as shipped changes nothing.

return {
  root = "/var/lib/berth",                 -- persistent state: images, containers, layers (restart to change)
  exec_root = "/run/berth",                -- volatile state: the API socket, shim sockets (restart to change)
  hosts = {},                              -- API sockets, "unix:///path" or "tcp://addr:port"; {} = unix://<exec_root>/berth.sock
  log_level = "info",                      -- "debug", "info", "warn", "error" or "fatal" (SIGHUP applies it)

  cgroups = {
    favordynmods = true,                   -- on cgroup v1/hybrid hosts, remount cgroup2 with favordynmods (faster starts)
  },

  storage = {
    driver = "overlay",                    -- "overlay" (overlayfs) or "vfs" (full copies, works anywhere)
    background_cleanup = true,             -- delete removed layers' files after `rm` returns
  },

  network = {
    default = "bridge",                    -- network of containers that name none: "bridge", "none" or "host"
    bridge = {
      name = "berth0",                     -- interface of the default bridge network (made on first use)
    },
    nft_table = "berth",                   -- nftables table (family ip) that holds Berth's rules
    pools = {                              -- subnets for networks without --subnet: blocks of /size from each base
      { base = "172.17.0.0/16", size = 16 },
      { base = "172.18.0.0/15", size = 16 },
      { base = "172.20.0.0/14", size = 16 },
      { base = "172.24.0.0/14", size = 16 },
      { base = "172.28.0.0/14", size = 16 },
      { base = "192.168.0.0/16", size = 20 },
    },
    dns_upstream = "host",                 -- where user networks' resolver sends other names: "host" (resolv.conf) or { "IP[:port]", ... }
  },

  hooks = {
    dir = "/etc/berth/hooks",              -- every *.lua here is loaded in name order; a missing dir means no hooks
    timeout_ms = 2000,                     -- wall time one hook call may take
    instruction_limit = 100000000,         -- Lua VM instructions one hook call may run
    memory_limit_mb = 32,                  -- memory each script's VM may hold
    scripts = {                            -- grants beyond the sandbox, by script file name, e.g.
      -- ["audit.lua"] = { io = true },    -- io library, os.remove/rename/tmpname/getenv: files on the host
      -- ["notify.lua"] = { exec = true }, -- os.execute and io.popen: processes on the host
    },
  },

  plugins = {
    dirs = { "/run/berth/plugins", "/etc/berth/plugins" },  -- where driver plugins' sockets and spec files are found
  },

  registry = {
    insecure = {},                         -- HOST:PORT of registries that may use plain HTTP (loopback ones may anyway)
    certs_dir = "/etc/berth/certs.d",      -- a registry's CA as HOST:PORT/ca.crt
    max_concurrent_downloads = 3,          -- layers fetched at once per pull
  },
}
