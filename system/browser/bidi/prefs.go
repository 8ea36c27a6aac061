package bidi

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultPrefs returns the preferences Launch writes to the fresh profile's user.js
// (Options.Prefs adds to and overrides them). They keep a test browser quiet and
// offline: no first-run or default-browser pages, no update, add-on, telemetry,
// Safe Browsing, captive-portal or remote-settings traffic (this machine has no
// internet, and a lookup that waits for a time-out would slow every launch), no
// proxy, and no timer throttling in windows that are not in front.
//
// Firefox's remote agent applies its own recommended preferences too
// (remote.prefs.recommended, on by default), but only once it starts; user.js
// holds from the first instant. Prefs alone do not silence a release build: Launch
// also sets MOZ_DISABLE_NONLOCAL_CONNECTIONS (see there).
func DefaultPrefs() map[string]any {
	return map[string]any{
		// First run, start page, default browser, session restore.
		"browser.shell.checkDefaultBrowser":               false,
		"browser.startup.page":                            0,
		"browser.startup.homepage":                        "about:blank",
		"browser.startup.homepage_override.mstone":        "ignore",
		"startup.homepage_welcome_url":                    "about:blank",
		"startup.homepage_welcome_url.additional":         "",
		"browser.aboutwelcome.enabled":                    false,
		"trailhead.firstrun.didSeeAboutWelcome":           true,
		"browser.newtabpage.enabled":                      false,
		"browser.sessionstore.resume_from_crash":          false,
		"toolkit.startup.max_resumed_crashes":             -1,
		"browser.tabs.warnOnClose":                        false,
		"browser.warnOnQuit":                              false,
		"datareporting.policy.firstRunURL":                "",
		"browser.uitour.enabled":                          false,
		"browser.translations.automaticallyPopup":         false,
		"browser.contentblocking.report.lockwise.enabled": false,

		// Updates: application, add-ons, search engines, system add-ons.
		// app.update.enabled is gone since Firefox 63 (disabledForTesting is what
		// 153 reads); kept for older builds.
		"app.update.enabled":                    false,
		"app.update.auto":                       false,
		"app.update.disabledForTesting":         true,
		"app.update.checkInstallTime":           false,
		"extensions.update.enabled":             false,
		"extensions.update.autoUpdateDefault":   false,
		"extensions.getAddons.cache.enabled":    false,
		"extensions.blocklist.enabled":          false,
		"extensions.systemAddon.update.enabled": false,
		"browser.search.update":                 false,
		"media.gmp-manager.updateEnabled":       false,
		"media.gmp-manager.url":                 "",

		// Telemetry, data reporting, studies, crash reports.
		"datareporting.policy.dataSubmissionEnabled":                  false,
		"datareporting.policy.dataSubmissionPolicyBypassNotification": true,
		"datareporting.healthreport.uploadEnabled":                    false,
		"datareporting.usage.uploadEnabled":                           false,
		"toolkit.telemetry.enabled":                                   false,
		"toolkit.telemetry.unified":                                   false,
		"toolkit.telemetry.archive.enabled":                           false,
		"toolkit.telemetry.server":                                    "",
		"toolkit.telemetry.newProfilePing.enabled":                    false,
		"toolkit.telemetry.shutdownPingSender.enabled":                false,
		"toolkit.telemetry.firstShutdownPing.enabled":                 false,
		"toolkit.telemetry.updatePing.enabled":                        false,
		"toolkit.telemetry.bhrPing.enabled":                           false,
		"app.normandy.enabled":                                        false,
		"app.normandy.api_url":                                        "",
		"app.shield.optoutstudies.enabled":                            false,
		"browser.discovery.enabled":                                   false,
		"browser.tabs.crashReporting.sendReport":                      false,
		"breakpad.reportURL":                                          "",

		// Network services that phone home.
		"network.captive-portal-service.enabled":                     false,
		"network.connectivity-service.enabled":                       false,
		"network.trr.mode":                                           5, // DNS over HTTPS off
		"network.dns.disablePrefetch":                                true,
		"network.prefetch-next":                                      false,
		"network.http.speculative-parallel-limit":                    0,
		"network.proxy.type":                                         0, // direct: tests talk to loopback
		"browser.safebrowsing.malware.enabled":                       false,
		"browser.safebrowsing.phishing.enabled":                      false,
		"browser.safebrowsing.blockedURIs.enabled":                   false,
		"browser.safebrowsing.downloads.enabled":                     false,
		"browser.safebrowsing.downloads.remote.enabled":              false,
		"browser.safebrowsing.provider.google4.updateURL":            "",
		"browser.safebrowsing.provider.google.updateURL":             "",
		"browser.safebrowsing.provider.mozilla.updateURL":            "",
		"services.settings.server":                                   "data:,#remote-settings-dummy/v1",
		"security.remote_settings.crlite_filters.enabled":            false,
		"security.remote_settings.intermediates.enabled":             false,
		"security.OCSP.enabled":                                      0,
		"geo.provider.network.url":                                   "",
		"browser.topsites.contile.enabled":                           false,
		"browser.newtabpage.activity-stream.feeds.system.topstories": false,
		"identity.fxaccounts.enabled":                                false,
		"signon.rememberSignons":                                     false,

		// Tests drive several windows at once: no background timer clamping or
		// budget throttling, no unload prompts, popups allowed.
		"dom.min_background_timeout_value":                           4,
		"dom.min_background_timeout_value_without_budget_throttling": 4,
		"dom.timeout.enable_budget_timer_throttling":                 false,
		"dom.disable_beforeunload":                                   true,
		"dom.disable_open_during_load":                               false,
		"dom.max_script_run_time":                                    0,
	}
}

// writeUserJS writes DefaultPrefs, overridden by extra, to dir/user.js, sorted by
// name so the file is stable.
func writeUserJS(dir string, extra map[string]any) error {
	prefs := DefaultPrefs()
	maps.Copy(prefs, extra)
	var b strings.Builder
	b.WriteString("// Written by system/browser/bidi for one test run; removed on Close.\n")
	for _, name := range slices.Sorted(maps.Keys(prefs)) {
		line, err := userPref(name, prefs[name])
		if err != nil {
			return err
		}
		b.WriteString(line)
	}
	return os.WriteFile(filepath.Join(dir, "user.js"), []byte(b.String()), 0o600)
}

// userPref renders one user_pref line. Preference values are booleans, integers or
// strings; JSON's quoting of names and strings is valid JavaScript.
func userPref(name string, value any) (string, error) {
	switch value.(type) {
	case bool, string, int, int32, int64:
	default:
		return "", fmt.Errorf("pref %s: value %v (%T) is not a bool, int or string", name, value, value)
	}
	n, err := json.Marshal(name)
	if err != nil {
		return "", err
	}
	v, err := json.Marshal(value)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("user_pref(%s, %s);\n", n, v), nil
}
