//! Roles, scopes and the policy table that maps one to the other.
//!
//! A scope is an explicit (resource, actions) pair in the spirit of RFC 9237 (AIF). Tokens
//! carry their scopes, so a verifier never needs a policy lookup; the policy table is used
//! by the issuer when it mints.

use core::fmt;

use crate::{Error, Result};

/// Who the token was issued to, as a role. Informational for the verifier (decisions use the
/// scopes); the issuer uses it to pick scopes from a [`PolicyTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Role {
    /// The patient wearing the device.
    Patient,
    /// Someone the patient delegates read-only access to.
    Caregiver,
    /// A clinician treating the patient.
    Clinician,
    /// A service technician: device health and logs, no PHI.
    Technician,
    /// Manages accounts and keys; reads no PHI.
    Admin,
}

impl Role {
    /// Every role, in code order.
    pub const ALL: [Role; 5] = [
        Role::Patient,
        Role::Caregiver,
        Role::Clinician,
        Role::Technician,
        Role::Admin,
    ];

    /// The role's code in the token (claim -65538).
    pub const fn code(self) -> u64 {
        match self {
            Role::Patient => 1,
            Role::Caregiver => 2,
            Role::Clinician => 3,
            Role::Technician => 4,
            Role::Admin => 5,
        }
    }

    /// The role with this code.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unassigned code.
    pub const fn from_code(code: u64) -> Result<Self> {
        match code {
            1 => Ok(Role::Patient),
            2 => Ok(Role::Caregiver),
            3 => Ok(Role::Clinician),
            4 => Ok(Role::Technician),
            5 => Ok(Role::Admin),
            _ => Err(Error::InvalidInput),
        }
    }

    /// The role's name (`patient`, `caregiver`, `clinician`, `technician`, `admin`).
    pub const fn name(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Caregiver => "caregiver",
            Role::Clinician => "clinician",
            Role::Technician => "technician",
            Role::Admin => "admin",
        }
    }

    /// The role with this name.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unknown name.
    pub fn from_name(name: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or(Error::InvalidInput)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing a scope may permit on a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read the resource.
    Read,
    /// Change the resource.
    Write,
    /// Export the resource off the device or out of the service.
    Export,
}

impl Action {
    /// Every action, in bit order.
    pub const ALL: [Action; 3] = [Action::Read, Action::Write, Action::Export];

    /// The action's bit in an [`Actions`] set.
    pub const fn bit(self) -> u8 {
        match self {
            Action::Read => 1,
            Action::Write => 2,
            Action::Export => 4,
        }
    }

    /// `read`, `write` or `export`.
    pub const fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Export => "export",
        }
    }

    /// The action with this name.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unknown name.
    pub fn from_name(name: &str) -> Result<Self> {
        Action::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or(Error::InvalidInput)
    }
}

/// A non-empty set of [`Action`]s, encoded as a bit mask (read 1, write 2, export 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Actions(u8);

impl Actions {
    /// Read only.
    pub const READ: Actions = Actions(1);
    /// Write only.
    pub const WRITE: Actions = Actions(2);
    /// Export only.
    pub const EXPORT: Actions = Actions(4);
    /// Read and write.
    pub const READ_WRITE: Actions = Actions(3);
    /// Read and export.
    pub const READ_EXPORT: Actions = Actions(5);
    const ALL_BITS: u8 = 7;

    /// The set with this bit mask.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the mask is zero or has bits beyond export.
    pub fn from_bits(bits: u64) -> Result<Self> {
        match u8::try_from(bits) {
            Ok(b) if b != 0 && b & !Self::ALL_BITS == 0 => Ok(Actions(b)),
            _ => Err(Error::InvalidInput),
        }
    }

    /// The bit mask.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether the set holds `action`.
    pub const fn contains(self, action: Action) -> bool {
        self.0 & action.bit() != 0
    }

    /// Whether every action in `self` is also in `other`.
    pub const fn is_subset_of(self, other: Actions) -> bool {
        self.0 & !other.0 == 0
    }

    /// The union of two sets.
    #[must_use]
    pub const fn union(self, other: Actions) -> Actions {
        Actions(self.0 | other.0)
    }
}

impl From<Action> for Actions {
    fn from(a: Action) -> Self {
        Actions(a.bit())
    }
}

/// A resource a scope names. The known ones travel as small integer codes; deployments may
/// add their own as text (`Custom`), which must not spell a known one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource<'a> {
    /// `device/status` (code 1).
    DeviceStatus,
    /// `device/battery` (code 2).
    DeviceBattery,
    /// `therapy/remaining`: remaining therapy time or dose (code 3).
    TherapyRemaining,
    /// `alarms` (code 4).
    Alarms,
    /// `readings/raw`: raw sensor readings, PHI (code 5).
    ReadingsRaw,
    /// `readings/export`: exports of readings, PHI (code 6).
    ReadingsExport,
    /// `therapy/settings` (code 7).
    TherapySettings,
    /// `device/logs`: device health logs without PHI (code 8).
    DeviceLogs,
    /// `firmware/update` (code 9).
    FirmwareUpdate,
    /// `summaries`: the patient's own summaries (code 10).
    Summaries,
    /// `accounts`: account management (code 11).
    Accounts,
    /// `keys`: key management (code 12).
    Keys,
    /// A deployment-defined resource, 1 to 64 bytes of `a-z 0-9 / _ - .`.
    Custom(&'a str),
}

/// The known resources with their codes and names, in code order.
const KNOWN: [(Resource<'static>, u64, &str); 12] = [
    (Resource::DeviceStatus, 1, "device/status"),
    (Resource::DeviceBattery, 2, "device/battery"),
    (Resource::TherapyRemaining, 3, "therapy/remaining"),
    (Resource::Alarms, 4, "alarms"),
    (Resource::ReadingsRaw, 5, "readings/raw"),
    (Resource::ReadingsExport, 6, "readings/export"),
    (Resource::TherapySettings, 7, "therapy/settings"),
    (Resource::DeviceLogs, 8, "device/logs"),
    (Resource::FirmwareUpdate, 9, "firmware/update"),
    (Resource::Summaries, 10, "summaries"),
    (Resource::Accounts, 11, "accounts"),
    (Resource::Keys, 12, "keys"),
];

impl<'a> Resource<'a> {
    /// Longest custom resource name, in bytes.
    pub const MAX_CUSTOM_LEN: usize = 64;

    /// The known resource with this code.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unassigned code.
    pub fn from_code(code: u64) -> Result<Resource<'static>> {
        KNOWN
            .iter()
            .find(|(_, c, _)| *c == code)
            .map(|(r, _, _)| *r)
            .ok_or(Error::InvalidInput)
    }

    /// The code of a known resource; `None` for a custom one.
    pub fn code(&self) -> Option<u64> {
        KNOWN.iter().find(|(r, _, _)| r == self).map(|(_, c, _)| *c)
    }

    /// The resource's name (`device/status`, ..., or the custom text).
    pub fn name(&self) -> &'a str {
        match self {
            Resource::Custom(s) => s,
            known => KNOWN
                .iter()
                .find(|(r, _, _)| r == known)
                .map_or("", |(_, _, n)| *n),
        }
    }

    /// The resource with this name: a known one, or a custom one if the text is well formed
    /// and spells no known resource.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for text outside the custom alphabet or length.
    pub fn parse(name: &'a str) -> Result<Resource<'a>> {
        if let Some((r, _, _)) = KNOWN.iter().find(|(_, _, n)| *n == name) {
            return Ok(*r);
        }
        Self::custom(name)
    }

    /// A custom resource (it must not spell a known one).
    pub(crate) fn custom(name: &'a str) -> Result<Resource<'a>> {
        let ok_len = !name.is_empty() && name.len() <= Self::MAX_CUSTOM_LEN;
        let ok_chars = name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'/' | b'_' | b'-' | b'.'));
        let known = KNOWN.iter().any(|(_, _, n)| *n == name);
        if ok_len && ok_chars && !known {
            Ok(Resource::Custom(name))
        } else {
            Err(Error::InvalidInput)
        }
    }
}

impl fmt::Display for Resource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A resource and what may be done to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scope<'a> {
    /// The resource.
    pub resource: Resource<'a>,
    /// The actions permitted on it.
    pub actions: Actions,
}

impl<'a> Scope<'a> {
    /// A scope.
    pub const fn new(resource: Resource<'a>, actions: Actions) -> Self {
        Self { resource, actions }
    }

    /// Parses `resource:action` (the CLI form), e.g. `readings/raw:export`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when either half is not valid.
    pub fn parse(text: &'a str) -> Result<Self> {
        let (res, act) = text.rsplit_once(':').ok_or(Error::InvalidInput)?;
        Ok(Self::new(
            Resource::parse(res)?,
            Action::from_name(act)?.into(),
        ))
    }
}

/// Up to [`ScopeSet::MAX`] scopes, at most one per resource, with no heap allocation.
/// Equality is set equality (order does not matter).
#[derive(Clone, Copy, Debug)]
pub struct ScopeSet<'a> {
    items: [Option<Scope<'a>>; ScopeSet::MAX],
}

impl PartialEq for ScopeSet<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.is_subset_of(other) && other.is_subset_of(self)
    }
}

impl Eq for ScopeSet<'_> {}

impl Default for ScopeSet<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> ScopeSet<'a> {
    /// Most scopes one token may carry.
    pub const MAX: usize = 16;

    /// The empty set.
    pub const fn new() -> Self {
        Self {
            items: [None; ScopeSet::MAX],
        }
    }

    /// A set from a slice; scopes for the same resource are merged.
    ///
    /// # Errors
    /// [`Error::CapacityExceeded`] beyond [`ScopeSet::MAX`] resources.
    pub fn from_scopes(scopes: &[Scope<'a>]) -> Result<Self> {
        let mut set = Self::new();
        for s in scopes {
            set.add(*s)?;
        }
        Ok(set)
    }

    /// Adds a scope, merging its actions into an existing entry for the same resource.
    ///
    /// # Errors
    /// [`Error::CapacityExceeded`] beyond [`ScopeSet::MAX`] resources.
    pub fn add(&mut self, scope: Scope<'a>) -> Result<()> {
        if let Some(existing) = self
            .items
            .iter_mut()
            .flatten()
            .find(|s| s.resource == scope.resource)
        {
            existing.actions = existing.actions.union(scope.actions);
            return Ok(());
        }
        let slot = self
            .items
            .iter_mut()
            .find(|s| s.is_none())
            .ok_or(Error::CapacityExceeded)?;
        *slot = Some(scope);
        Ok(())
    }

    /// Adds a scope for a resource that must not be in the set yet (the parser's rule).
    pub(crate) fn add_new(&mut self, scope: Scope<'a>) -> Result<()> {
        if self.actions_for(&scope.resource).is_some() {
            return Err(Error::InvalidInput);
        }
        self.add(scope)
    }

    /// The actions permitted on `resource`, if any.
    pub fn actions_for(&self, resource: &Resource<'_>) -> Option<Actions> {
        self.iter()
            .find(|s| s.resource == *resource)
            .map(|s| s.actions)
    }

    /// Whether the set permits `action` on `resource`.
    pub fn allows(&self, resource: &Resource<'_>, action: Action) -> bool {
        self.actions_for(resource)
            .is_some_and(|a| a.contains(action))
    }

    /// Whether every scope in `self` is permitted by `other`.
    pub fn is_subset_of(&self, other: &ScopeSet<'_>) -> bool {
        self.iter().all(|s| {
            other
                .actions_for(&s.resource)
                .is_some_and(|a| s.actions.is_subset_of(a))
        })
    }

    /// The scopes, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope<'a>> + '_ {
        self.items.iter().flatten()
    }

    /// Number of resources in the set.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.items.iter().all(Option::is_none)
    }
}

/// Which scopes each role gets. [`PolicyTable::DEFAULT`] follows ARCHITECTURE.md; callers may
/// supply their own table (`PolicyTable::new(&[...])`).
#[derive(Clone, Copy, Debug)]
pub struct PolicyTable<'a> {
    entries: &'a [(Role, &'a [Scope<'a>])],
}

use Resource as R;
const PATIENT: &[Scope<'static>] = &[
    Scope::new(R::DeviceStatus, Actions::READ),
    Scope::new(R::DeviceBattery, Actions::READ),
    Scope::new(R::TherapyRemaining, Actions::READ),
    Scope::new(R::Alarms, Actions::READ),
    Scope::new(R::Summaries, Actions::READ),
];
const CAREGIVER: &[Scope<'static>] = &[
    Scope::new(R::DeviceStatus, Actions::READ),
    Scope::new(R::DeviceBattery, Actions::READ),
    Scope::new(R::TherapyRemaining, Actions::READ),
    Scope::new(R::Alarms, Actions::READ),
];
const CLINICIAN: &[Scope<'static>] = &[
    Scope::new(R::DeviceStatus, Actions::READ),
    Scope::new(R::DeviceBattery, Actions::READ),
    Scope::new(R::TherapyRemaining, Actions::READ),
    Scope::new(R::Alarms, Actions::READ),
    Scope::new(R::Summaries, Actions::READ),
    Scope::new(R::ReadingsRaw, Actions::READ_EXPORT),
    Scope::new(R::ReadingsExport, Actions::EXPORT),
    Scope::new(R::TherapySettings, Actions::READ_WRITE),
];
const TECHNICIAN: &[Scope<'static>] = &[
    Scope::new(R::DeviceStatus, Actions::READ),
    Scope::new(R::DeviceBattery, Actions::READ),
    Scope::new(R::DeviceLogs, Actions::READ),
    Scope::new(R::FirmwareUpdate, Actions::WRITE),
];
const ADMIN: &[Scope<'static>] = &[
    Scope::new(R::Accounts, Actions::READ_WRITE),
    Scope::new(R::Keys, Actions::READ_WRITE),
];

impl<'a> PolicyTable<'a> {
    /// The default table (ARCHITECTURE.md, "Roles"):
    ///
    /// | role | scopes |
    /// |---|---|
    /// | patient | device/status, device/battery, therapy/remaining, alarms, summaries: read |
    /// | caregiver | device/status, device/battery, therapy/remaining, alarms: read |
    /// | clinician | the patient's reads, plus readings/raw read+export, readings/export export, therapy/settings read+write |
    /// | technician | device/status, device/battery, device/logs: read; firmware/update: write |
    /// | admin | accounts, keys: read+write (no PHI) |
    pub const DEFAULT: PolicyTable<'static> = PolicyTable {
        entries: &[
            (Role::Patient, PATIENT),
            (Role::Caregiver, CAREGIVER),
            (Role::Clinician, CLINICIAN),
            (Role::Technician, TECHNICIAN),
            (Role::Admin, ADMIN),
        ],
    };

    /// A caller-supplied table. A role missing from it gets no scopes (cannot be minted).
    pub const fn new(entries: &'a [(Role, &'a [Scope<'a>])]) -> Self {
        Self { entries }
    }

    /// The scopes of `role`, if the table lists it.
    pub fn scopes_for(&self, role: Role) -> Option<&'a [Scope<'a>]> {
        self.entries
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, s)| *s)
    }

    /// The scopes of `role` as a set.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the table does not list the role;
    /// [`Error::CapacityExceeded`] when it lists more than [`ScopeSet::MAX`] resources.
    pub fn scope_set(&self, role: Role) -> Result<ScopeSet<'a>> {
        ScopeSet::from_scopes(self.scopes_for(role).ok_or(Error::InvalidInput)?)
    }
}

impl Default for PolicyTable<'static> {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn technician_and_admin_see_no_phi() {
        for role in [Role::Technician, Role::Admin] {
            let set = PolicyTable::DEFAULT.scope_set(role).unwrap();
            for phi in [
                R::ReadingsRaw,
                R::ReadingsExport,
                R::Summaries,
                R::TherapySettings,
            ] {
                assert!(set.actions_for(&phi).is_none(), "{role} has {phi}");
            }
        }
    }

    #[test]
    fn patient_is_read_only_maintenance() {
        let set = PolicyTable::DEFAULT.scope_set(Role::Patient).unwrap();
        assert!(set.allows(&R::DeviceBattery, Action::Read));
        assert!(!set.allows(&R::DeviceBattery, Action::Write));
        assert!(!set.allows(&R::ReadingsRaw, Action::Read));
        let caregiver = PolicyTable::DEFAULT.scope_set(Role::Caregiver).unwrap();
        assert!(caregiver.is_subset_of(&set));
        assert!(!set.is_subset_of(&caregiver));
    }

    #[test]
    fn resource_names_round_trip_and_custom_rules() {
        for (r, code, name) in KNOWN {
            assert_eq!(Resource::parse(name).unwrap(), r);
            assert_eq!(r.code(), Some(code));
            assert_eq!(Resource::from_code(code).unwrap(), r);
        }
        assert_eq!(Resource::parse("pump/x-1").unwrap(), R::Custom("pump/x-1"));
        assert!(Resource::parse("Pump").is_err());
        assert!(Resource::parse("").is_err());
        assert!(Resource::custom("alarms").is_err());
        assert_eq!(
            Scope::parse("readings/raw:export").unwrap(),
            Scope::new(R::ReadingsRaw, Actions::EXPORT)
        );
        assert!(Scope::parse("readings/raw").is_err());
        assert!(Actions::from_bits(0).is_err() && Actions::from_bits(8).is_err());
    }
}
