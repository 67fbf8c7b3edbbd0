; Inno Setup 6 script: per-user installer of SCIM Support Console from the PyInstaller bundle.
;   pyinstaller --noconfirm --clean build.spec
;   iscc /DAppVersion=0.1.0 packaging\windows\scim-console.iss      -> dist\scim-console-0.1.0-setup.exe
; Per-user (no UAC prompt): installs to %LOCALAPPDATA%\Programs\SCIM Support Console, a Start-menu
; entry, optionally the CLI on the user's PATH, and an uninstaller (Settings -> Apps). Running a newer
; setup over an older one upgrades in place (same AppId). Uninstall removes the program files only:
; the user's data (%LOCALAPPDATA%\scim-support-console, %APPDATA%\scim-support-console) and the
; tokens in Windows Credential Manager stay. docs/packaging.md §3.
; Signing: pass /DSignTool=1 and configure a sign tool named "signtool" in the Inno Setup IDE or
; with iscc "/Ssigntool=signtool sign /fd sha256 /tr http://timestamp.digicert.com /td sha256 /a $f".

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z scim-console.iss
#endif
#define AppName "SCIM Support Console"
#define BundleDir "..\..\dist\scim-console"

[Setup]
; Never change the AppId: it is how a newer setup finds and upgrades the installed one.
AppId={{6F0C8E52-3B7A-4C1E-9A51-6C2E1D7B9F30}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=SCIM Support Console team
VersionInfoVersion={#AppVersion}
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=scim-console-{#AppVersion}-setup
SetupIconFile=..\..\resources\windows\scim-console.ico
UninstallDisplayIcon={app}\scim-console-gui.exe
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesEnvironment=yes
CloseApplications=yes
#ifdef SignTool
SignTool=signtool
SignedUninstaller=yes
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add the scim-console command line to my PATH"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole bundle: files a newer build no longer ships must not linger.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\scim-console-gui.exe"; AppUserModelID: "scim-support-console"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\scim-console-gui.exe"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; \
  ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\scim-console-gui.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKCU, 'Environment', 'Path', Path) then
    Path := '';
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;

procedure RemoveFromPath(Dir: string);
var
  Path: string;
  P: Integer;
begin
  if not RegQueryStringValue(HKCU, 'Environment', 'Path', Path) then
    exit;
  P := Pos(';' + Uppercase(Dir), Uppercase(Path));
  if P > 0 then
  begin
    Delete(Path, P, Length(Dir) + 1);
    RegWriteExpandStringValue(HKCU, 'Environment', 'Path', Path);
  end;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
end;
