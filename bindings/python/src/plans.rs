//! The sign plan a signer keeps for the `Policy` object it signs again and
//! again (a handler's module-level policy; the key varies per request).

use std::sync::Mutex;

use postpolicy::{Policy, SignPlan};
use pyo3::prelude::*;

use crate::policy::PyPolicy;

/// One plan per signer, for the last `Policy` object signed twice in a
/// row. A `Policy` is immutable, so the object (held here, so that its
/// address is not reused) identifies the policy exactly; a policy made per
/// request is seen once and never planned, so it costs one address compare.
#[derive(Debug, Default)]
pub struct Plans(Mutex<Slot>);

#[derive(Debug, Default)]
struct Slot {
    /// The address of the `Policy` object signed last.
    last: usize,
    plan: Option<(Py<PyPolicy>, SignPlan)>,
}

impl Plans {
    /// Signs `policy` with its plan when it has one or now makes one (with
    /// `plan`), else `plain`. The lock is held while signing, which runs no
    /// Python code and so holds the GIL throughout: it is never contended.
    pub fn sign<R>(
        &self,
        policy: &Bound<'_, PyPolicy>,
        plan: impl FnOnce(&Policy) -> Option<SignPlan>,
        planned: impl FnOnce(&SignPlan) -> R,
        plain: impl FnOnce(&Policy) -> R,
    ) -> R {
        let Ok(mut slot) = self.0.lock() else {
            return plain(&policy.get().0);
        };
        let address = policy.as_ptr() as usize;
        if let Some((held, kept)) = &slot.plan
            && held.as_ptr() as usize == address
        {
            return planned(kept);
        }
        if std::mem::replace(&mut slot.last, address) != address {
            return plain(&policy.get().0);
        }
        match plan(&policy.get().0) {
            Some(made) => {
                let result = planned(&made);
                slot.plan = Some((policy.clone().unbind(), made));
                result
            }
            None => plain(&policy.get().0),
        }
    }
}
