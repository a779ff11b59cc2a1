#include <array>

#include "demo/generator_vocabulary.h"

namespace contacts::demo::vocab {
namespace {

using SV = std::string_view;

// A job function: how titles name it, its Apollo department, how common it is, and the
// individual-contributor roles in it (most common first).
struct Function {
  SV name;
  SV department;
  uint32_t weight;
  std::array<SV, 7> roles;  // unused slots are empty
};

constexpr Function kFunctions[] = {
    {"Engineering",
     "Engineering & Technical",
     22,
     {"Software Engineer", "Backend Developer", "Frontend Developer", "DevOps Engineer",
      "QA Engineer", "Site Reliability Engineer", "Data Engineer"}},
    {"Sales",
     "Sales",
     20,
     {"Account Executive", "Sales Representative", "Account Manager",
      "Sales Development Representative", "Business Development Representative"}},
    {"Marketing",
     "Marketing",
     14,
     {"Marketing Specialist", "Marketing Coordinator", "Content Strategist", "SEO Specialist",
      "Growth Marketer"}},
    {"Finance",
     "Finance",
     9,
     {"Accountant", "Financial Analyst", "Controller", "Payroll Specialist"}},
    {"Operations",
     "Operations",
     9,
     {"Operations Analyst", "Project Coordinator", "Office Administrator", "Supply Chain Analyst"}},
    {"Human Resources",
     "Human Resources",
     8,
     {"Recruiter", "HR Generalist", "Talent Acquisition Specialist", "HR Business Partner"}},
    {"Product", "Product Management", 7, {"Product Owner", "Product Analyst", "Business Analyst"}},
    {"Customer Success",
     "Support",
     6,
     {"Customer Success Specialist", "Customer Support Representative", "Support Engineer"}},
    {"IT",
     "Information Technology",
     6,
     {"Systems Administrator", "IT Specialist", "Network Engineer", "Help Desk Technician"}},
    {"Data", "Data Science", 5, {"Data Analyst", "Data Scientist", "Machine Learning Engineer"}},
    {"Design", "Design", 4, {"UX Designer", "Graphic Designer", "UI Designer"}},
    {"Consulting", "Consulting", 4, {"Consultant", "Business Consultant", "Solutions Architect"}},
    {"Legal", "Legal", 3, {"Legal Counsel", "Paralegal", "Compliance Analyst"}},
    {"Security", "Information Technology", 3, {"Security Engineer", "Security Analyst"}},
    {"Clinical Operations", "Medical & Health", 3, {"Nurse", "Physician", "Medical Assistant"}},
    {"Education", "Education", 2, {"Instructional Designer", "Teacher", "Trainer"}},
};

struct Level {
  SV prefix;
  SV seniority;
  uint32_t weight;
};

constexpr Level kContributorLevels[] = {
    {"", "entry", 10},      {"Senior ", "senior", 6},    {"Junior ", "entry", 2},
    {"Lead ", "senior", 2}, {"Principal ", "senior", 1}, {"Associate ", "entry", 1},
};

// Management titles; "{}" stands for the function's name.
struct Pattern {
  SV before;
  SV after;
  SV seniority;
  uint32_t weight;
};

constexpr Pattern kManagementPatterns[] = {
    {"", " Manager", "manager", 8},
    {"Senior ", " Manager", "manager", 3},
    {"Director of ", "", "director", 4},
    {"Senior Director of ", "", "director", 1},
    {"Head of ", "", "head", 2},
    {"VP ", "", "vp", 2},
    {"VP of ", "", "vp", 1},
    {"Vice President of ", "", "vp", 1},
    {"", " Intern", "intern", 1},
};

struct Fixed {
  SV title;
  SV seniority;
  SV departments;
  uint32_t weight;
};

constexpr Fixed kFixedTitles[] = {
    {"CEO", "c_suite", "C-Suite", 600},
    {"Founder", "founder", "C-Suite", 400},
    {"Owner", "owner", "C-Suite", 400},
    {"Co-Founder", "founder", "C-Suite", 300},
    {"Founder & CEO", "founder", "C-Suite", 300},
    {"President", "c_suite", "C-Suite", 200},
    {"Chief Executive Officer", "c_suite", "C-Suite", 200},
    {"CTO", "c_suite", "C-Suite, Engineering & Technical", 200},
    {"Managing Director", "director", "C-Suite", 150},
    {"CFO", "c_suite", "C-Suite, Finance", 150},
    {"COO", "c_suite", "C-Suite, Operations", 150},
    {"Partner", "partner", "C-Suite", 150},
    {"General Manager", "manager", "Operations", 120},
    {"Office Manager", "manager", "Operations", 100},
    {"Executive Assistant", "entry", "Operations", 100},
    {"CMO", "c_suite", "C-Suite, Marketing", 100},
    {"Managing Partner", "partner", "C-Suite", 80},
    {"Chief Technology Officer", "c_suite", "C-Suite, Engineering & Technical", 80},
    {"CIO", "c_suite", "C-Suite, Information Technology", 60},
    {"Chief Revenue Officer", "c_suite", "C-Suite, Sales", 40},
    {"Chief People Officer", "c_suite", "C-Suite, Human Resources", 30},
    {"Board Member", "partner", "C-Suite", 30},
};

void add_contributor_titles(const Function& f, std::vector<Title>& out) {
  uint32_t role_weight = 0;
  for (const SV role : f.roles) role_weight += role.empty() ? 0 : 1;
  for (const SV role : f.roles) {
    if (role.empty()) break;
    for (const Level& level : kContributorLevels) {
      out.push_back({std::string(level.prefix) + std::string(role), level.seniority,
                     std::string(f.department), f.weight * level.weight * role_weight});
    }
    --role_weight;
  }
}

void add_management_titles(const Function& f, std::vector<Title>& out) {
  for (const Pattern& p : kManagementPatterns) {
    out.push_back({std::string(p.before) + std::string(f.name) + std::string(p.after), p.seniority,
                   std::string(f.department), f.weight * p.weight * 3});
  }
}

}  // namespace

const std::vector<Title>& titles() {
  static const std::vector<Title> kTitles = [] {
    std::vector<Title> all;
    for (const Fixed& t : kFixedTitles) {
      all.push_back({std::string(t.title), t.seniority, std::string(t.departments), t.weight});
    }
    for (const Function& f : kFunctions) {
      add_contributor_titles(f, all);
      add_management_titles(f, all);
    }
    return all;
  }();
  return kTitles;
}

}  // namespace contacts::demo::vocab
