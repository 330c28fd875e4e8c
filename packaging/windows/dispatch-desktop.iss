; dispatch-desktop: Inno Setup 6 script for a per-machine install on Windows 10/11 x64.
;
; NOT BUILT OR RUN ON THE LINUX CI MACHINE. Written against the Inno Setup 6 documentation
; (https://jrsoftware.org/ishelp/); see packaging/windows/README.md for what was verified.
;
; Do not run iscc on this file by hand: packaging\windows\build.ps1 builds the PyInstaller
; bundle, reads the product metadata (python packaging\metadata.py --json: the one home of the
; version, application id and vendor is pyproject.toml / desktop/__init__.py) and passes it here
; as /D defines:
;
;   iscc /DAppVersion=0.1.0 /DAppName=dispatch-desktop /DAppTitle="Dispatch Desktop"
;        /DAppPublisher="..." /DAppURL=https://... /DAppUserModelId=org.example.App
;        /DBundleDir=C:\...\build\windows\bundle\dispatch-desktop /DOutputDir=C:\...\dist
;        [/DSetupIcon=C:\...\packaging\icons\dispatch-desktop.ico] [/DSign /Sddsign=...]
;        packaging\windows\dispatch-desktop.iss
;
; Needs Inno Setup 6.3 or later (the "x64compatible" architecture identifier).

#ifndef AppVersion
  #error AppVersion is not defined: run packaging\windows\build.ps1 (it passes /DAppVersion=...)
#endif
#ifndef AppName
  #error AppName is not defined: run packaging\windows\build.ps1
#endif
#ifndef AppTitle
  #error AppTitle is not defined: run packaging\windows\build.ps1
#endif
#ifndef AppPublisher
  #error AppPublisher is not defined: run packaging\windows\build.ps1
#endif
#ifndef AppURL
  #error AppURL is not defined: run packaging\windows\build.ps1
#endif
#ifndef AppUserModelId
  #error AppUserModelId is not defined: run packaging\windows\build.ps1
#endif
#ifndef BundleDir
  #error BundleDir (the PyInstaller onedir folder) is not defined: run packaging\windows\build.ps1
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
; The Windows version resource takes numbers only (up to four): build.ps1 passes 0.1.0 for a
; version such as 0.1.0rc1. Without it, AppVersion must be all numbers.
#ifndef AppFileVersion
  #define AppFileVersion AppVersion
#endif

#define AppExe AppName + ".exe"

[Setup]
; AppId identifies this product to Windows and to Inno Setup FOREVER. Setup finds the previous
; install (its folder, its uninstaller) by it, and the uninstall entry is the registry key
;   HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{A511280A-08F4-4F07-B55D-AD40D7FB7870}_is1
; which Intune/SCCM detection rules and inventory tools look for. A new GUID would install a
; second copy beside the first, with a second uninstall entry, and break every detection rule
; already deployed. Never change it, never reuse it for another product. ("{{" is Inno's escape
; for a literal "{"; the value is {A511280A-08F4-4F07-B55D-AD40D7FB7870}.)
AppId={{A511280A-08F4-4F07-B55D-AD40D7FB7870}
AppName={#AppTitle}
AppVersion={#AppVersion}
AppVerName={#AppTitle} {#AppVersion}
AppPublisher={#AppPublisher}
AppPublisherURL={#AppURL}
AppSupportURL={#AppURL}
AppUpdatesURL={#AppURL}
VersionInfoVersion={#AppFileVersion}
VersionInfoProductVersion={#AppFileVersion}
VersionInfoProductTextVersion={#AppVersion}
VersionInfoProductName={#AppTitle}
VersionInfoCompany={#AppPublisher}
VersionInfoDescription={#AppTitle} Setup

; Per-machine: C:\Program Files\dispatch-desktop, HKLM uninstall entry, shortcuts for all users.
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
DefaultDirName={autopf}\{#AppName}
UsePreviousAppDir=yes
DisableDirPage=auto
DisableProgramGroupPage=yes
DisableWelcomePage=yes
UninstallDisplayName={#AppTitle}
UninstallDisplayIcon={app}\{#AppExe}
; A running workstation holds its DLLs open. Silent installs close it through the Restart
; Manager (the outbox is on disk, nothing sent is lost, but the dispatcher sees the window go):
; schedule upgrades outside a shift, or pass /NOCLOSEAPPLICATIONS (see README.md). Never restart
; it from Setup: Setup may run as SYSTEM under Intune/SCCM.
CloseApplications=yes
RestartApplications=no

OutputDir={#OutputDir}
OutputBaseFilename={#AppName}-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
#ifdef SetupIcon
SetupIconFile={#SetupIcon}
#endif
#ifdef Sign
; build.ps1 defines the sign tool "ddsign" with /Sddsign=... (signtool with SHA-256 and an
; RFC 3161 timestamp); Inno signs Setup and the uninstaller with it.
SignTool=ddsign
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
; Off unless asked: silent installs take it with /MERGETASKS="desktopicon".
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; PyInstaller's onedir keeps everything but the .exe in _internal\. Setup never removes files a
; new version no longer ships, and a stale DLL or Qt plugin left there could be loaded by the new
; version: empty the folder first. It holds only what Setup put there (no user data).
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Dirs]
; Where IT puts config.toml. Created (never removed: uninsneveruninstall) so that IT has the
; folder (README.md, "Deploying config.toml", says how to fill it). Its ACL is reset in [Run] below.
Name: "{commonappdata}\{#AppName}"; Flags: uninsneveruninstall

[Icons]
Name: "{autoprograms}\{#AppTitle}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; AppUserModelID: "{#AppUserModelId}"
Name: "{autodesktop}\{#AppTitle}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; AppUserModelID: "{#AppUserModelId}"; Tasks: desktopicon

[Run]
; %PROGRAMDATA%'s default ACL lets any user create files in its subfolders, so a standard user
; could plant a config.toml that every workstation session would then obey. Replace the
; inherited ACL: SYSTEM and Administrators full control, Users read. SIDs, not names, so it works
; on every Windows language. The file IT deploys inherits the same ACL.
Filename: "{sys}\icacls.exe"; Parameters: """{commonappdata}\{#AppName}"" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F *S-1-5-32-545:(OI)(CI)RX"; Flags: runhidden waituntilterminated; StatusMsg: "Securing the configuration folder..."
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppTitle}}"; Flags: nowait postinstall skipifsilent runasoriginaluser

; No [UninstallDelete] and no [UninstallRun]: the uninstaller removes only the files it installed
; and the shortcuts. It never touches the users' data and settings (%LOCALAPPDATA%\dispatch-desktop:
; the outbox, layouts, logs) nor %PROGRAMDATA%\dispatch-desktop\config.toml, and keeps the
; %PROGRAMDATA%\dispatch-desktop folder (uninsneveruninstall above). Do not add entries here that
; delete them: an outbox can hold commands not yet confirmed by the server.
