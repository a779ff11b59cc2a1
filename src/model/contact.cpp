#include "model/contact.h"

namespace contacts {

const std::array<TextFieldInfo, kTextFieldCount>& text_fields() {
  using F = TextField;
  // name, Apollo label, contains filter, exact filter, searched
  static const std::array<TextFieldInfo, kTextFieldCount> kFields = {{
      {F::first_name, "first_name", "First Name", true, false, true},
      {F::last_name, "last_name", "Last Name", true, false, true},
      {F::title, "title", "Title", true, false, true},
      {F::company, "company", "Company", true, false, true},
      {F::company_name_for_emails, "company_name_for_emails", "Company Name for Emails", true,
       false, false},
      {F::email, "email", "Email", true, false, true},
      {F::email_status, "email_status", "Email Status", false, true, false},
      {F::primary_email_catch_all_status, "primary_email_catch_all_status",
       "Primary Email Catch-all Status", false, true, false},
      {F::seniority, "seniority", "Seniority", false, true, false},
      {F::departments, "departments", "Departments", true, false, true},
      {F::work_direct_phone, "work_direct_phone", "Work Direct Phone", true, false, false},
      {F::home_phone, "home_phone", "Home Phone", true, false, false},
      {F::mobile_phone, "mobile_phone", "Mobile Phone", true, false, false},
      {F::corporate_phone, "corporate_phone", "Corporate Phone", true, false, false},
      {F::other_phone, "other_phone", "Other Phone", true, false, false},
      {F::stage, "stage", "Stage", false, true, false},
      {F::industry, "industry", "Industry", true, false, true},
      {F::keywords, "keywords", "Keywords", true, false, true},
      {F::person_linkedin_url, "person_linkedin_url", "Person Linkedin Url", true, false, false},
      {F::website, "website", "Website", true, false, false},
      {F::company_linkedin_url, "company_linkedin_url", "Company Linkedin Url", true, false,
       false},
      {F::facebook_url, "facebook_url", "Facebook Url", true, false, false},
      {F::twitter_url, "twitter_url", "Twitter Url", true, false, false},
      {F::city, "city", "City", true, false, true},
      {F::state, "state", "State", true, false, true},
      {F::country, "country", "Country", true, false, true},
      {F::company_address, "company_address", "Company Address", true, false, false},
      {F::company_city, "company_city", "Company City", true, false, false},
      {F::company_state, "company_state", "Company State", true, false, false},
      {F::company_country, "company_country", "Company Country", true, false, false},
      {F::company_phone, "company_phone", "Company Phone", true, false, false},
      {F::technologies, "technologies", "Technologies", true, false, true},
      {F::latest_funding, "latest_funding", "Latest Funding", true, false, false},
      {F::last_raised_at, "last_raised_at", "Last Raised At", true, false, false},
  }};
  return kFields;
}

const std::array<NumberFieldInfo, kNumberFieldCount>& number_fields() {
  using F = NumberField;
  static const std::array<NumberFieldInfo, kNumberFieldCount> kFields = {{
      {F::employees, "employees", "# Employees"},
      {F::annual_revenue, "annual_revenue", "Annual Revenue"},
      {F::total_funding, "total_funding", "Total Funding"},
      {F::latest_funding_amount, "latest_funding_amount", "Latest Funding Amount"},
  }};
  return kFields;
}

const std::vector<PayloadField>& payload_fields() {
  static const std::vector<PayloadField> kFields = [] {
    std::vector<PayloadField> fields;
    for (const TextFieldInfo& f : text_fields()) {
      fields.emplace_back(f.field);
      if (f.field == TextField::stage) fields.emplace_back(NumberField::employees);
      if (f.field == TextField::technologies) {
        fields.emplace_back(NumberField::annual_revenue);
        fields.emplace_back(NumberField::total_funding);
      }
      if (f.field == TextField::latest_funding) {
        fields.emplace_back(NumberField::latest_funding_amount);
      }
    }
    return fields;
  }();
  return kFields;
}

}  // namespace contacts
