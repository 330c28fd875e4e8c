<#
.SYNOPSIS
    Builds the dispatch-desktop Windows installer: PyInstaller onedir bundle, Inno Setup 6
    per-machine installer, optional Authenticode signing.

.DESCRIPTION
    NOT RUN ON THE LINUX CI MACHINE. Written against the PyInstaller 6.22, Inno Setup 6 and
    SignTool documentation; packaging\windows\README.md says what was and was not verified.

    Steps: a virtual environment with the project and PyInstaller (pip install .[packaging]),
    the .ico (packaging\icons\make_ico.py, written to packaging\icons\dispatch-desktop.ico where
    the PyInstaller spec looks for it), the bundle (python packaging\build.py bundle), the
    product metadata (python packaging\metadata.py --json), signing of the bundle's .exe files,
    a smoke test of the bundle, iscc with /D defines, and signing of Setup and its uninstaller.

    Signing is optional and configured through the environment (nothing secret on the command
    line, so nothing secret in build logs):
      DD_SIGN_CERT_SHA1      SHA-1 thumbprint of the code-signing certificate in the Windows
                             certificate store (CurrentUser\My or LocalMachine\My), including a
                             certificate whose key is on a hardware token or HSM. Signing is on
                             when this is set.
      DD_SIGN_TIMESTAMP_URL  the RFC 3161 timestamp server of your CA (required when signing).
      DD_SIGN_EXTRA_ARGS     optional extra signtool arguments (e.g. /dlib and /dmdf for a cloud
                             signing service), appended as they are.
      SIGNTOOL               path to signtool.exe (default: the newest x64 signtool of the
                             Windows 10/11 SDK under "Windows Kits\10\bin").
      ISCC                   path to ISCC.exe (default: on PATH, else Inno Setup 6 under
                             Program Files (x86) or Program Files).

.PARAMETER Python
    The Python 3.11 x64 interpreter to build with. Default: the one "py -3.11" finds.

.PARAMETER BuildDir
    Work folder (venv, bundle, smoke-test output). Default: <repo>\build\windows.

.PARAMETER OutputDir
    Where the Setup .exe goes. Default: <repo>\dist.

.PARAMETER ReuseVenv
    Keep an existing venv in BuildDir instead of creating it afresh.

.PARAMETER SkipSmoke
    Skip running the bundle (--version, and --demo --screenshot). Use on a build agent that has
    no interactive desktop session.

.EXAMPLE
    powershell -NoProfile -ExecutionPolicy Bypass -File packaging\windows\build.ps1
#>
[CmdletBinding()]
param(
    [string]$Python = '',
    [string]$BuildDir = '',
    [string]$OutputDir = '',
    [switch]$ReuseVenv,
    [switch]$SkipSmoke
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$Repo = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path
if (-not $BuildDir) { $BuildDir = Join-Path $Repo 'build\windows' }
if (-not $OutputDir) { $OutputDir = Join-Path $Repo 'dist' }
# The spec takes the Windows icon from here; make_ico.py writes it from the committed PNGs.
$IconPath = Join-Path $Repo 'packaging\icons\dispatch-desktop.ico'
$IssPath = Join-Path $PSScriptRoot 'dispatch-desktop.iss'

function Invoke-Native {
    # Runs a program, echoes the command, and stops the build when it exits non-zero.
    param([Parameter(Mandatory)][string]$Exe, [string[]]$Arguments = @())
    Write-Host "+ $Exe $($Arguments -join ' ')"
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe exited with code $LASTEXITCODE" }
}

function Find-Python {
    if ($Python) { return (Resolve-Path $Python).Path }
    $launcher = Get-Command py.exe -ErrorAction SilentlyContinue
    if (-not $launcher) {
        throw 'No Python launcher (py.exe). Install Python 3.11 x64 from python.org, or pass -Python C:\path\to\python.exe'
    }
    $exe = & $launcher.Source -3.11 -c 'import sys; print(sys.executable)'
    if ($LASTEXITCODE -ne 0 -or -not $exe) { throw '"py -3.11" found no Python 3.11: install it from python.org' }
    return $exe.Trim()
}

function Find-Iscc {
    if ($env:ISCC) { return $env:ISCC }
    $onPath = Get-Command iscc.exe -ErrorAction SilentlyContinue
    if ($onPath) { return $onPath.Source }
    foreach ($base in @(${env:ProgramFiles(x86)}, $env:ProgramFiles)) {
        if (-not $base) { continue }
        $candidate = Join-Path $base 'Inno Setup 6\ISCC.exe'
        if (Test-Path $candidate) { return $candidate }
    }
    throw 'ISCC.exe not found: install Inno Setup 6.3 or later, or set ISCC to its path'
}

function Find-SignTool {
    if ($env:SIGNTOOL) { return $env:SIGNTOOL }
    $kits = Join-Path ${env:ProgramFiles(x86)} 'Windows Kits\10\bin'
    $found = Get-ChildItem -Path $kits -Filter signtool.exe -Recurse -ErrorAction SilentlyContinue |
        Where-Object { $_.Directory.Name -eq 'x64' } |
        Sort-Object { $_.Directory.Parent.Name -as [version] } -Descending |
        Select-Object -First 1
    if (-not $found) { throw "signtool.exe not found under ${kits}: install the Windows SDK (Signing Tools) or set SIGNTOOL" }
    return $found.FullName
}

function Get-SignArguments {
    # signtool arguments after "sign", without the file name.
    $signArgs = @('/fd', 'SHA256', '/tr', $env:DD_SIGN_TIMESTAMP_URL, '/td', 'SHA256', '/sha1', $env:DD_SIGN_CERT_SHA1)
    if ($env:DD_SIGN_EXTRA_ARGS) { $signArgs += ($env:DD_SIGN_EXTRA_ARGS -split '\s+' | Where-Object { $_ }) }
    return $signArgs
}

# --- 0. what we build with --------------------------------------------------------------------
$Signing = [bool]$env:DD_SIGN_CERT_SHA1
if ($Signing -and -not $env:DD_SIGN_TIMESTAMP_URL) {
    throw 'DD_SIGN_CERT_SHA1 is set but DD_SIGN_TIMESTAMP_URL is not: an untimestamped signature dies with the certificate'
}
$BasePython = Find-Python
$check = & $BasePython -c "import struct, sys; print(sys.version_info[:2] == (3, 11) and struct.calcsize('P') == 8 and 'WindowsApps' not in sys.executable)"
if ($LASTEXITCODE -ne 0 -or $check.Trim() -ne 'True') {
    throw "$BasePython is not a 64-bit python.org Python 3.11 (the Microsoft Store Python is not supported by PySide6)"
}
$Iscc = Find-Iscc
$SignTool = $null
if ($Signing) { $SignTool = Find-SignTool }
Write-Host "python:   $BasePython"
Write-Host "iscc:     $Iscc"
Write-Host "signing:  $(if ($Signing) { "yes, certificate $($env:DD_SIGN_CERT_SHA1) with $SignTool" } else { 'no (DD_SIGN_CERT_SHA1 not set)' })"

# --- 1. virtual environment ------------------------------------------------------------------
$Venv = Join-Path $BuildDir 'venv'
$VenvPython = Join-Path $Venv 'Scripts\python.exe'
if (-not ($ReuseVenv -and (Test-Path $VenvPython))) {
    if (Test-Path $Venv) { Remove-Item -Recurse -Force $Venv }
    Invoke-Native $BasePython @('-m', 'venv', $Venv)
}
Push-Location $Repo
try {
    Invoke-Native $VenvPython @('-m', 'pip', 'install', '--upgrade', 'pip')
    # pillow: only for packaging\icons\make_ico.py.
    Invoke-Native $VenvPython @('-m', 'pip', 'install', '.[packaging]', 'pillow>=10.1')

    # --- 2. metadata (pyproject.toml and desktop\__init__.py are its one home) ----------------
    $metaJson = & $VenvPython (Join-Path $Repo 'packaging\metadata.py') --json
    if ($LASTEXITCODE -ne 0) { throw 'python packaging\metadata.py --json failed' }
    $Meta = $metaJson | ConvertFrom-Json
    $FileVersion = [regex]::Match($Meta.version, '^\d+(\.\d+){0,3}').Value
    Write-Host "product:  $($Meta.title) $($Meta.version) ($($Meta.app_id)), $($Meta.vendor)"

    # --- 3. icon ------------------------------------------------------------------------------
    if (-not (Test-Path (Join-Path $Repo 'resources\icons\dispatch-desktop-256.png'))) {
        throw 'resources\icons\dispatch-desktop-256.png not found: the icon renders are missing'
    }
    Invoke-Native $VenvPython @((Join-Path $Repo 'packaging\icons\make_ico.py'), '--out', $IconPath)

    # --- 4. the PyInstaller onedir bundle -----------------------------------------------------
    $BundleParent = Join-Path $BuildDir 'bundle'
    Invoke-Native $VenvPython @((Join-Path $Repo 'packaging\build.py'), 'bundle', '--out', $BundleParent)
} finally {
    Pop-Location
}
$BundleDir = Join-Path $BundleParent $Meta.name
$AppExe = Join-Path $BundleDir "$($Meta.name).exe"
if (-not (Test-Path $AppExe)) { throw "the bundle has no ${AppExe}: did packaging\build.py bundle change its output folder?" }

# The MSVC C++ runtime: PySide6's shiboken6 wheel ships msvcp140*.dll and vcruntime140*.dll and
# python.org's Python ships vcruntime140*.dll; PyInstaller collects them. The UCRT is part of
# Windows 10/11. If one is missing here the bundle needs the VC++ Redistributable: say so loudly.
foreach ($dll in @('vcruntime140.dll', 'vcruntime140_1.dll', 'msvcp140.dll')) {
    if (-not (Get-ChildItem -Path $BundleDir -Filter $dll -Recurse -ErrorAction SilentlyContinue)) {
        Write-Warning "$dll is not in the bundle: target machines will need the Microsoft Visual C++ 2015-2022 Redistributable (x64). See README.md."
    }
}

# --- 5. sign our own executables (the PyInstaller bootloaders; third-party DLLs keep theirs) ----
if ($Signing) {
    foreach ($exe in Get-ChildItem -Path $BundleDir -Filter *.exe -File) {
        Invoke-Native $SignTool (@('sign') + (Get-SignArguments) + @($exe.FullName))
        Invoke-Native $SignTool @('verify', '/pa', '/v', $exe.FullName)
    }
}

# --- 6. smoke test of the bundle ----------------------------------------------------------------
if (-not $SkipSmoke) {
    # A windowed (console=False) PyInstaller .exe has no stdout: --version prints nothing to this
    # console, so only its exit code is checked here.
    $p = Start-Process -FilePath $AppExe -ArgumentList '--version' -Wait -PassThru -NoNewWindow
    if ($p.ExitCode -ne 0) { throw "$AppExe --version exited with code $($p.ExitCode)" }
    $shotDir = Join-Path $BuildDir 'smoke'
    New-Item -ItemType Directory -Force -Path $shotDir | Out-Null
    $shot = Join-Path $shotDir 'a.png'
    Remove-Item -Force -ErrorAction SilentlyContinue (Join-Path $shotDir '*.png')
    $dataDir = Join-Path $shotDir 'data'
    $configDir = Join-Path $shotDir 'config'
    $p = Start-Process -FilePath $AppExe -PassThru -ArgumentList @(
        '--demo', '--screenshot', "`"$shot`"", '--data-dir', "`"$dataDir`"", '--config-dir', "`"$configDir`"")
    $null = $p.Handle  # without a handle taken now, ExitCode can be empty after the exit
    if (-not $p.WaitForExit(180000)) {
        Stop-Process -Id $p.Id -Force
        throw "$AppExe --demo --screenshot did not exit within 180 s"
    }
    if ($p.ExitCode -ne 0) { throw "$AppExe --demo --screenshot exited with code $($p.ExitCode); see $dataDir\logs\workstation.log" }
    if (-not (Get-ChildItem -Path $shotDir -Filter *.png)) { throw "--demo --screenshot wrote no PNG in $shotDir" }
    Write-Host "smoke:    --version and --demo --screenshot passed (PNGs in $shotDir)"
}

# --- 7. the installer -----------------------------------------------------------------------
New-Item -ItemType Directory -Force -Path $OutputDir | Out-Null
$isccArgs = @(
    "/DAppVersion=$($Meta.version)",
    "/DAppFileVersion=$FileVersion",
    "/DAppName=$($Meta.name)",
    "/DAppTitle=$($Meta.title)",
    "/DAppPublisher=$($Meta.vendor)",
    "/DAppURL=$($Meta.homepage)",
    "/DAppUserModelId=$($Meta.app_id)",
    "/DBundleDir=$BundleDir",
    "/DOutputDir=$OutputDir"
)
$isccArgs += "/DSetupIcon=$IconPath"
if ($Signing) {
    # Inno Setup replaces $q with a double quote and $f with the quoted file to sign; with them
    # no quote has to survive PowerShell's passing of arguments to a native program.
    $isccArgs += '/DSign'
    $isccArgs += ('/Sddsign=$q' + $SignTool + '$q sign ' + ((Get-SignArguments) -join ' ') + ' $f')
}
$isccArgs += $IssPath
Invoke-Native $Iscc $isccArgs

$Setup = Join-Path $OutputDir "$($Meta.name)-$($Meta.version)-windows-x64-setup.exe"
if (-not (Test-Path $Setup)) { throw "iscc reported success but $Setup is missing" }
if ($Signing) { Invoke-Native $SignTool @('verify', '/pa', '/v', $Setup) }
$hash = (Get-FileHash -Algorithm SHA256 $Setup).Hash.ToLower()
Write-Host ''
Write-Host "built:    $Setup"
Write-Host "sha256:   $hash"
Write-Host "signed:   $(if ($Signing) { 'yes' } else { 'NO - do not deploy an unsigned build to dispatch floors' })"
