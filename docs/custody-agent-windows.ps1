# custody-agent-windows.ps1: install the work-location agent as a Windows service (agent-windows.md explains it).
# Written out by `custody example windows-service -o custody-agent-windows.ps1`. Run in an elevated PowerShell.

$exe    = "@CUSTODY@"
$ledger = "C:\ProgramData\custody\ledger"
$keys   = "C:\ProgramData\custody\agent"

# 1. The ledger directory (shared with the operators' custody commands) and the agent's key directory,
#    closed to everyone but administrators before any key or passphrase is written into it (custody checks
#    no permissions on Windows: these ACLs are the only protection of agent.key, agent.pass and log.pass).
New-Item -ItemType Directory -Force $ledger, $keys | Out-Null
icacls $keys /inheritance:r /grant:r "Administrators:(OI)(CI)F"

# 2. The agent's own key and the two passphrase files it needs (its own, and the log key's for the
#    automatic checkpoints). The responsible person then registers the key (passphrase not needed):
#      custody agent register --ledger $ledger --agent-key $keys\agent.key --host $env:COMPUTERNAME --key resp-sato.key
& $exe key new agent-ws01 -o $keys\agent.key --passphrase-file $keys\agent.pass   # agent.pass written first

# 3. The service, hosted by NSSM.
nssm install custody-agent $exe agent run --ledger $ledger --key $keys\agent.key `
    --passphrase-file $keys\agent.pass --log-passphrase-file $keys\log.pass `
    --on-alert "powershell.exe -NoProfile -NonInteractive -File C:\ProgramData\custody\alert.ps1"
nssm set custody-agent AppEnvironmentExtra CUSTODY_LANG=ja
nssm set custody-agent AppStdout C:\ProgramData\custody\agent.log
nssm set custody-agent AppStderr C:\ProgramData\custody\agent.log
nssm set custody-agent AppStopMethodConsole 60000   # Ctrl-C, then wait: pending records, agent.stopped, checkpoint
nssm set custody-agent Start SERVICE_AUTO_START

# 4. A virtual service account (no password, no interactive logon, its own SID) instead of LocalSystem.
sc.exe config custody-agent obj= "NT SERVICE\custody-agent"
sc.exe sidtype custody-agent unrestricted
# Only the privilege the agent needs (traversing directories); everything else is removed.
sc.exe privs custody-agent SeChangeNotifyPrivilege
# Restart on failure: a crash becomes a short observation gap, not a long one.
sc.exe failure custody-agent reset= 86400 actions= restart/5000/restart/5000/restart/60000

# 5. File-system rights. "custody operators" is a local group of the people who run custody commands.
icacls $ledger /inheritance:r /grant:r "Administrators:(OI)(CI)F" "NT SERVICE\custody-agent:(OI)(CI)M" `
    "custody operators:(OI)(CI)M"
icacls $ledger\log.key /inheritance:r /grant:r "NT SERVICE\custody-agent:R" "Administrators:F"
icacls $keys /inheritance:r /grant:r "NT SERVICE\custody-agent:(OI)(CI)R" "Administrators:(OI)(CI)F"
icacls "C:\ProgramData\custody" /grant:r "NT SERVICE\custody-agent:(OI)(CI)M"   # the log file
icacls "C:\Program Files\custody" /grant:r "NT SERVICE\custody-agent:(OI)(CI)RX"

Start-Service custody-agent
Get-Content C:\ProgramData\custody\agent.log -Wait   # alerts appear as "custody-agent: 警告 C10: ..."
